// `tightfit chat`: interactive multi-turn chat on stdin/stdout (works through a pipe too).
//   tightfit chat --model M [--system S] [--thinking on|off] [--image F...] [sampling flags]
// One line is one user message (on a terminal with line editing and history, cli/line_editor.h).
// Commands: /reset (forget the conversation), /thinking on|off, /image PATH (vision models: the
// image goes before the text of the next message; --image does that for the first message),
// /help, /exit. Ctrl-C stops the current answer; at the prompt, a second Ctrl-C in a row exits.
// Each turn is one request with the whole conversation; the engine's prompt cache restores the
// previous turn's state up to its "<|im_start|>assistant\n" (runtime/chat_session.h explains why
// there), so a turn prefills only its new tokens; the stats line says how many were reused.
// Runs on the public API only (include/tightfit/tightfit.h), through cli/engine_flags.h.
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/engine_flags.h"
#include "cli/interrupt.h"
#include "cli/line_editor.h"
#include "cli/text_output.h"

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

// The conversation: its messages so far, the settings /commands change, images for the next
// message.
struct Conversation {
  std::vector<tightfit::Message> messages;
  std::optional<bool> thinking;
  std::vector<tightfit::Image> pending_images;

  void reset(const GenerationFlags& flags) {
    messages.clear();
    pending_images.clear();
    if (!flags.system.empty())
      messages.push_back(tightfit::Message::text("system", flags.system));
  }
};

std::vector<tightfit::Image> as_images(std::vector<RgbImage> images) {
  std::vector<tightfit::Image> out;
  for (RgbImage& image : images)
    out.push_back(tightfit::Image::from_rgb(static_cast<int>(image.width),
                                            static_cast<int>(image.height),
                                            std::move(image.pixels)));
  return out;
}

// `/image PATH`: reads the image now and says how many tokens it takes (errors are reported and
// the chat goes on); it is sent with the next message.
void attach_image(const std::string& path, tightfit::Engine& engine, const GenerationFlags& flags,
                  Conversation& chat) {
  if (!engine.info().has_vision) {
    std::fprintf(stderr, "tightfit: %s is a text-only model (no vision tower): /image is not "
                         "available\n", engine.info().path.c_str());
    return;
  }
  try {
    ImageFlags one = flags.image;
    one.files = {path};
    std::vector<tightfit::Image> image = as_images(read_images(one));
    tightfit::Request probe;  // the image alone: its placeholder expands to its tokens
    probe.prompt = "<|image_pad|>";
    probe.images = image;
    if (flags.image.max_pixels) probe.max_image_pixels = *flags.image.max_pixels;
    const int64_t tokens = engine.count_prompt_tokens(probe);
    chat.pending_images.push_back(std::move(image[0]));
    std::fprintf(stderr, "(image %s: %lld tokens, sent with your next message)\n", path.c_str(),
                 static_cast<long long>(tokens));
  } catch (const tightfit::InvalidRequest& e) {
    std::fprintf(stderr, "tightfit: %s\n", flag_message(e).c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tightfit: %s\n", e.what());
  }
}

// Handles a /command; false when the chat should end.
bool run_command(const std::string& line, Conversation& chat, tightfit::Engine& engine,
                 const GenerationFlags& flags) {
  if (line == "/exit" || line == "/quit") return false;
  if (line.rfind("/image", 0) == 0 && (line.size() == 6 || line[6] == ' ')) {
    const std::string path = trim(line.substr(6));
    if (path.empty())
      std::fprintf(stderr, "usage: /image PATH\n");
    else
      attach_image(path, engine, flags, chat);
  } else if (line == "/reset") {
    chat.reset(flags);
    std::fprintf(stderr, "(new conversation)\n");
  } else if (line == "/thinking on" || line == "/thinking off") {
    chat.thinking = line == "/thinking on";
    std::fprintf(stderr, "(thinking %s)\n", line == "/thinking on" ? "on" : "off");
  } else if (line == "/help") {
    std::fprintf(stderr, "%s\n", kHelp);
  } else {
    std::fprintf(stderr, "unknown command %s (%s)\n", line.c_str(), kHelp);
  }
  return true;
}

// One turn: the conversation and the user's message (images first, then the text) as one
// request; the answer joins the conversation (a stopped one as far as it got).
void send(const std::string& text, Conversation& chat, tightfit::Engine& engine,
          const GenerationFlags& flags, PieceWriter& writer) {
  tightfit::Request request = request_from_flags(flags);
  request.enable_thinking = chat.thinking;
  if (flags.image.max_pixels) request.max_image_pixels = *flags.image.max_pixels;
  tightfit::Message user;
  user.role = "user";
  for (tightfit::Image& image : chat.pending_images)
    user.content.push_back({tightfit::ContentPart::Kind::image, {}, std::move(image)});
  chat.pending_images.clear();
  user.content.push_back({tightfit::ContentPart::Kind::text, text, {}});
  request.messages = chat.messages;
  request.messages.push_back(user);
  tightfit::Result r;
  try {
    r = stream_answer(engine, std::move(request), writer, flags);
  } catch (const BadInputError& e) {
    writer.finish();
    // The conversation outgrew the context: say so and let the user start over.
    std::fprintf(stderr, "tightfit: %s (/reset starts a new conversation)\n", e.what());
    return;
  }
  writer.finish();
  InterruptScope::clear();  // that Ctrl-C is used up
  if (r.stop == tightfit::StopReason::cancelled) std::fprintf(stderr, "(answer stopped)\n");
  chat.messages.push_back(std::move(user));
  tightfit::Message answer = tightfit::Message::text("assistant", r.text);
  answer.reasoning = r.reasoning;
  chat.messages.push_back(std::move(answer));
  print_answer_notices(r, flags);
  if (!flags.quiet) std::fprintf(stderr, "%s\n", stats_line(r).c_str());
}

void run_chat(const GenerationFlags& flags) {
  request_from_flags(flags);  // bad flags are reported before the model loads
  Conversation chat;
  chat.thinking = thinking_flag(flags);
  chat.reset(flags);
  std::vector<tightfit::Image> images = as_images(read_images(flags.image));
  const std::unique_ptr<tightfit::Engine> engine = load_engine(flags, /*vision=*/true, /*prompt_cache=*/true);
  if (flags.verbose) print_engine_settings(*engine, flags);
  if (!images.empty()) {
    if (!engine->info().has_vision)
      throw BadInputError("--image: " + engine->info().path +
                          " is a text-only model (no vision tower): drop --image");
    std::fprintf(stderr, "(%zu image%s sent with your first message)\n", images.size(),
                 images.size() == 1 ? "" : "s");
    chat.pending_images = std::move(images);
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
      if (!run_command(line, chat, *engine, flags)) break;
      continue;
    }
    InterruptScope::clear();  // only a Ctrl-C from now on stops this answer
    send(line, chat, *engine, flags, writer);
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
