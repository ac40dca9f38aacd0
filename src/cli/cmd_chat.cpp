// `tightfit chat`: interactive multi-turn chat on stdin/stdout (works through a pipe too).
//   tightfit chat --model M [--system S] [--thinking on|off] [--image F...] [sampling flags]
// One line is one user message (on a terminal with line editing and history, cli/line_editor.h).
// Commands: /reset (forget the conversation), /thinking on|off, /image PATH (vision models: the
// image goes before the text of the next message; --image does that for the first message),
// /help, /exit. Ctrl-C stops the current answer; at the prompt, a second Ctrl-C in a row exits.
// Each turn prefills only its new tokens (runtime/chat_session.h); the stats line says how many
// were reused.
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/generation_flags.h"
#include "cli/memory_limit_flag.h"
#include "cli/interrupt.h"
#include "cli/line_editor.h"
#include "cli/text_output.h"
#include "model/session.h"
#include "runtime/chat_session.h"
#include "runtime/multimodal_prompt.h"

namespace tf::cli {

namespace {

constexpr const char* kHelp =
    "commands: /reset (new conversation), /thinking on|off, /image PATH (attach to the next "
    "message), /help, /exit; "
    "Ctrl-C stops an answer";

std::string trim(const std::string& s) {
  const size_t a = s.find_first_not_of(" \t\r\n");
  if (a == std::string::npos) return "";
  const size_t b = s.find_last_not_of(" \t\r\n");
  return s.substr(a, b - a + 1);
}

// Images for the next message, encoded already, and the time the vision tower took on them.
struct PendingImages {
  std::vector<ImageFeatures> features;
  double vision_seconds = 0;
  void clear() { *this = {}; }
};

// `/image PATH`: encodes the image now (errors are reported and the chat goes on) and keeps it
// for the next message.
void attach_image(const std::string& path, const LoadedModel& m, const GenerationFlags& flags,
                  PendingImages& pending) {
  if (!m.model->has_vision() || !m.image_processor) {
    std::fprintf(stderr, "tightfit: %s is a text-only model (no vision tower): /image is not "
                         "available\n", m.source.dir.string().c_str());
    return;
  }
  try {
    ImageFlags one = flags.image;
    one.files = {path};
    const EncodedImages encoded = encode_images(m, one, read_images(one), /*text_tokens=*/1);
    pending.features.push_back(encoded.features[0]);
    pending.vision_seconds += encoded.seconds;
    std::fprintf(stderr, "(image %s: %lld tokens, sent with your next message)\n", path.c_str(),
                 static_cast<long long>(pending.features.back().tokens));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tightfit: %s\n", e.what());
  }
}

// Handles a /command; false when the chat should end.
bool run_command(const std::string& line, ChatSession& chat, const LoadedModel& m,
                 const GenerationFlags& flags, PendingImages& pending) {
  if (line == "/exit" || line == "/quit") return false;
  if (line.rfind("/image", 0) == 0 && (line.size() == 6 || line[6] == ' ')) {
    const std::string path = trim(line.substr(6));
    if (path.empty())
      std::fprintf(stderr, "usage: /image PATH\n");
    else
      attach_image(path, m, flags, pending);
  } else if (line == "/reset") {
    pending.clear();
    chat.reset();
    std::fprintf(stderr, "(new conversation)\n");
  } else if (line == "/thinking on" || line == "/thinking off") {
    chat.set_thinking(line == "/thinking on");
    std::fprintf(stderr, "(thinking %s)\n", line == "/thinking on" ? "on" : "off");
  } else if (line == "/help") {
    std::fprintf(stderr, "%s\n", kHelp);
  } else {
    std::fprintf(stderr, "unknown command %s (%s)\n", line.c_str(), kHelp);
  }
  return true;
}

void run_chat(const GenerationFlags& flags) {
  ChatOptions options;
  options.system_prompt = flags.system;
  options.enable_thinking = thinking_flag(flags);
  options.template_kwargs = template_kwargs(flags);

  const std::vector<RgbImage> images = read_images(flags.image);  // before the model loads
  const LoadedModel m = load_model(flags);
  // The model and its buffers must fit; the conversation's growth is not checked turn by turn
  // yet (the engine's guard will: include/tightfit/plan.h).
  check_memory_limit(flags.memory_limit, m.source.dir.string(), flags.kv_cache,
                     m.model->has_vision(), 0);
  Session session(*m.model, session_options(flags));
  const GenerationParams params = generation_params(flags, m);
  ChatSession chat(session, *m.tokenizer, params, options);
  if (flags.verbose) print_settings(m, params);

  PendingImages pending_images;  // --image, then /image: for the next message
  if (!images.empty()) {
    EncodedImages encoded = encode_images(m, flags.image, images, /*text_tokens=*/1);
    pending_images.features = std::move(encoded.features);
    pending_images.vision_seconds = encoded.seconds;
    std::fprintf(stderr, "(%zu image%s sent with your first message)\n", images.size(),
                 images.size() == 1 ? "" : "s");
  }

  const bool interactive = is_terminal(stdin);
  if (interactive) std::fprintf(stderr, "tightfit chat — %s\n", kHelp);
  PieceWriter writer(stdout, is_terminal(stdout));
  InterruptScope interrupts;
  // On a terminal: line editing and history; piped: plain lines (what scripts and tests feed).
  std::optional<LineEditor> editor;
  if (interactive) editor.emplace("> ", LineEditor::default_history_file());
  LineReader reader;
  bool interrupted_at_prompt = false;
  for (;;) {
    std::string line;
    const LineReader::Status status = editor ? editor->read(line) : reader.read(line);
    if (status == LineReader::Status::end_of_input) break;
    if (status == LineReader::Status::interrupted) {
      InterruptScope::clear();
      if (interrupted_at_prompt) break;
      interrupted_at_prompt = true;
      std::fprintf(stderr, "\n(Ctrl-C again or /exit to quit)\n");
      continue;
    }
    interrupted_at_prompt = false;
    line = trim(line);
    if (line.empty()) continue;
    if (line[0] == '/') {
      if (!run_command(line, chat, m, flags, pending_images)) break;
      continue;
    }

    InterruptScope::clear();  // only a Ctrl-C from now on stops this answer
    GenerationResult r;
    const int64_t images_sent = static_cast<int64_t>(pending_images.features.size());
    const double vision_seconds = pending_images.vision_seconds;
    try {
      r = chat.send(line, std::move(pending_images.features),
                    [&](const TextPiece& p) { writer.write(p); }, &InterruptScope::flag());
      pending_images.clear();
    } catch (const std::invalid_argument& e) {
      writer.finish();
      pending_images.clear();
      // The conversation outgrew the context: say so and let the user start over.
      std::fprintf(stderr, "tightfit: %s (/reset starts a new conversation)\n", e.what());
      continue;
    }
    writer.finish();
    InterruptScope::clear();  // that Ctrl-C is used up
    if (r.cancelled) std::fprintf(stderr, "(answer stopped)\n");
    r.stats.images = images_sent;
    r.stats.vision_seconds = vision_seconds;
    print_result_notices(r, flags);
    if (!flags.quiet) std::fprintf(stderr, "%s\n", format_stats(r.stats).c_str());
  }
  if (interactive) std::fputs("\n", stdout);
}

}  // namespace

void add_chat_command(CLI::App& app) {
  auto flags = std::make_shared<GenerationFlags>();
  auto* cmd = app.add_subcommand("chat", "Interactive multi-turn chat in the terminal");
  add_generation_flags(cmd, *flags);
  cmd->callback([flags] { run_chat(*flags); });
}

}  // namespace tf::cli
