// The smallest program that embeds tightfit: load a model, ask one question, stream the answer.
//
//   embed MODEL [QUESTION]
//
// MODEL is a model folder or a Hugging Face repo id; the answer goes to stdout as it is
// generated, the thinking (if any) to stderr, and a usage line at the end.
#include <cstdio>
#include <iostream>
#include <string>

#include <tightfit/tightfit.h>

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s MODEL [QUESTION]\n", argv[0]);
    return 2;
  }
  try {
    auto engine = tightfit::Engine::load({.model = argv[1]});
    tightfit::Request request;
    request.messages = {
        tightfit::Message::text("user", argc > 2 ? argv[2] : "Name three colours.")};
    request.max_tokens = 64;
    tightfit::RequestHandle handle = engine->submit(std::move(request));
    while (std::optional<tightfit::Event> event = handle.next()) {
      if (event->kind == tightfit::EventKind::answer) std::cout << event->text << std::flush;
      if (event->kind == tightfit::EventKind::reasoning) std::cerr << event->text << std::flush;
      if (event->kind == tightfit::EventKind::done)
        std::cerr << "\n[" << tightfit::to_string(event->stop) << ": "
                  << event->usage.prompt_tokens << " prompt tokens, "
                  << event->usage.completion_tokens << " generated]\n";
    }
  } catch (const tightfit::Error& e) {
    std::fprintf(stderr, "embed: %s\n", e.what());
    return 1;
  }
  return 0;
}
