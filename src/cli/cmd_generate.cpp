// `tightfit generate`: one prompt in, the model's answer streamed to stdout, one stats line on
// stderr.
//   tightfit generate --model M --prompt P [--image F...] [--max-pixels N] [--system S]
//                     [--max-tokens N] [--temp T]
//                     [--top-p P] [--top-k K] [--min-p P] [--seed S] [--thinking on|off] [--raw]
//                     [--stop S]...
// --prompt - reads the prompt from stdin. --raw feeds the prompt to the model as is (no chat
// template). --image (vision models) puts the images before the text of the user message, as
// mlx_vlm.generate does; with --raw the prompt must hold one <|image_pad|> per image. The engine
// checks the prompt against the context from the images' resized sizes before the vision tower
// runs. Ctrl-C stops the answer early; the stats line is still printed.
//
// Runs on the public API only (include/tightfit/tightfit.h), through cli/engine_flags.h.
#include <cstdio>
#include <iostream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/engine_flags.h"
#include "cli/interrupt.h"
#include "cli/text_output.h"
#include "quant/cancelled.h"
#include "runtime/reasoning_split.h"

namespace tf::cli {

namespace {

struct GenerateOptions {
  GenerationFlags gen;
  std::string prompt;
  bool raw = false;
};

void check_flag_combinations(const GenerateOptions& o) {
  if (o.raw) {
    if (!o.gen.system.empty()) throw UsageError("--system needs the chat template: drop --raw");
    if (!o.gen.thinking.empty())
      throw UsageError("--thinking needs the chat template: drop --raw");
    if (!o.gen.chat_template_args.empty())
      throw UsageError("--chat-template-args needs the chat template: drop --raw");
  }
}

// The prompt as the request's messages (images first, then the text: mlx_vlm.generate's
// layout, spec §7.2) or, with --raw, as text with the images beside it.
void set_prompt(tightfit::Request& request, const GenerateOptions& o, const std::string& prompt,
                std::vector<tightfit::Image> images) {
  if (o.raw) {
    request.prompt = prompt;
    request.images = std::move(images);
    return;
  }
  if (!o.gen.system.empty())
    request.messages.push_back(tightfit::Message::text("system", o.gen.system));
  tightfit::Message user;
  user.role = "user";
  for (tightfit::Image& image : images)
    user.content.push_back({tightfit::ContentPart::Kind::image, {}, std::move(image)});
  user.content.push_back({tightfit::ContentPart::Kind::text, prompt, {}});
  request.messages.push_back(std::move(user));
}

void run_generate(const GenerateOptions& o) {
  check_flag_combinations(o);
  template_kwargs(o.gen);  // a bad JSON is reported before the model loads
  tightfit::Request request = request_from_flags(o.gen);
  std::string prompt = o.prompt;
  if (prompt == "-") prompt.assign(std::istreambuf_iterator<char>(std::cin), {});
  if (o.raw && prompt.empty())
    throw UsageError("--prompt is empty (with --raw there is nothing to feed)");

  std::vector<tightfit::Image> images;  // read before the model loads
  for (RgbImage& image : read_images(o.gen.image))
    images.push_back(tightfit::Image::from_rgb(static_cast<int>(image.width),
                                               static_cast<int>(image.height),
                                               std::move(image.pixels)));
  if (o.gen.image.max_pixels) request.max_image_pixels = *o.gen.image.max_pixels;
  const bool with_images = !images.empty();
  set_prompt(request, o, prompt, std::move(images));

  const std::unique_ptr<tightfit::Engine> engine = load_engine(o.gen, /*vision=*/with_images, /*prompt_cache=*/false);
  if (with_images && !engine->info().has_vision)
    throw BadInputError("--image: " + engine->info().path +
                        " is a text-only model (no vision tower): drop --image");
  for (const auto& [id, bias] : request.sampling.logit_bias)
    if (id < 0 || id >= engine->info().vocab_size)
      throw BadInputError("--logit-bias: token id " + std::to_string(id) +
                          " is outside the vocabulary (0.." +
                          std::to_string(engine->info().vocab_size - 1) + ")");
  if (o.gen.verbose) {
    print_engine_settings(*engine, o.gen);
    const std::string text = o.raw ? prompt : engine->apply_chat_template(request);
    int64_t tokens = 0;
    try {
      tokens = engine->count_prompt_tokens(request);
    } catch (const tightfit::InvalidRequest& e) {
      throw BadInputError(flag_message(e));
    }
    std::fprintf(stderr, "prompt: %lld tokens, %s\n", static_cast<long long>(tokens),
                 prompt_opens_reasoning(text) ? "starts in reasoning" : "no open reasoning block");
  }

  PieceWriter writer(stdout, is_terminal(stdout));
  InterruptScope interrupts;
  const tightfit::Result r = stream_answer(*engine, std::move(request), writer, o.gen);
  writer.finish();
  print_answer_notices(r, o.gen);
  if (o.gen.verbose)
    std::fprintf(stderr, "stop: %s (max tokens %d)\n", stop_name(r.stop).c_str(), r.max_tokens);
  if (!o.gen.quiet) std::fprintf(stderr, "%s\n", stats_line(r).c_str());
  // Exit code 130, as a shell reports SIGINT: a script can tell a cut answer from a whole one.
  if (r.stop == tightfit::StopReason::cancelled) throw Cancelled("interrupted");
}

}  // namespace

void add_generate_command(CLI::App& app) {
  auto o = std::make_shared<GenerateOptions>();
  auto* cmd = app.add_subcommand("generate", "Generate text from a prompt");
  add_generation_flags(cmd, o->gen);
  cmd->add_option("--prompt,-p", o->prompt, "The prompt ('-' reads it from stdin)")->required();
  cmd->add_flag("--raw,--ignore-chat-template", o->raw,
                "Feed the prompt as is, without the chat template");
  cmd->callback([o] { run_generate(*o); });
}

}  // namespace tf::cli
