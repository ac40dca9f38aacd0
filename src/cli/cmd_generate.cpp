// `tightfit generate`: one prompt in, the model's answer streamed to stdout, one stats line on
// stderr.
//   tightfit generate --model M --prompt P [--image F...] [--max-pixels N] [--system S]
//                     [--max-tokens N] [--temp T]
//                     [--top-p P] [--top-k K] [--min-p P] [--seed S] [--thinking on|off] [--raw]
//                     [--stop S]...
// --prompt - reads the prompt from stdin. --raw feeds the prompt to the model as is (no chat
// template). --image (vision models) puts the images before the text of the user message, as
// mlx_vlm.generate does; with --raw the prompt must hold one <|image_pad|> per image. The prompt
// is checked against the context from the images' resized sizes before the vision tower runs.
// Ctrl-C stops the answer early; the stats line is still printed.
#include <cstdio>
#include <iostream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/generation_flags.h"
#include "cli/memory_limit_flag.h"
#include "cli/interrupt.h"
#include "cli/text_output.h"
#include "model/session.h"
#include "quant/cancelled.h"
#include "runtime/generator.h"
#include "runtime/multimodal_prompt.h"
#include "tokenizer/chat_template.h"

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

std::string render_prompt(const GenerateOptions& o, const std::string& prompt,
                          const LoadedModel& m) {
  if (o.raw) return prompt;
  tokenizer::ChatRequest request;
  if (!o.gen.system.empty())
    request.messages.push_back({{"role", "system"}, {"content", o.gen.system}});
  if (o.gen.image.files.empty()) {
    request.messages.push_back({{"role", "user"}, {"content", prompt}});
  } else {
    // Images first, then the text (mlx_vlm.generate's message layout; spec §7.2).
    nlohmann::ordered_json content = nlohmann::ordered_json::array();
    for (const std::string& path : o.gen.image.files) content.push_back({{"type", "image"}, {"image", path}});
    content.push_back({{"type", "text"}, {"text", prompt}});
    request.messages.push_back({{"role", "user"}, {"content", content}});
  }
  request.enable_thinking = thinking_flag(o.gen);
  request.extra_kwargs = template_kwargs(o.gen);
  return tokenizer::apply_chat_template(m.tokenizer->config, request);
}

void run_generate(const GenerateOptions& o) {
  check_flag_combinations(o);
  template_kwargs(o.gen);  // a bad JSON is reported before the model loads
  std::string prompt = o.prompt;
  if (prompt == "-") prompt.assign(std::istreambuf_iterator<char>(std::cin), {});

  const std::vector<RgbImage> images = read_images(o.gen.image);  // before the model loads

  const LoadedModel m = load_model(o.gen, /*vision=*/!images.empty());
  const GenerationParams params = generation_params(o.gen, m);
  const std::string text = render_prompt(o, prompt, m);
  const std::vector<int32_t> ids = m.tokenizer->tokenizer.encode(text);
  if (ids.empty()) throw UsageError("--prompt is empty (with --raw there is nothing to feed)");
  const EncodedImages encoded =
      encode_images(m, o.gen.image, images, static_cast<int64_t>(ids.size()));
  MultimodalPrompt multimodal;
  if (!images.empty()) {
    try {
      multimodal = build_multimodal_prompt(*m.model, ids, encoded.features);
    } catch (const std::invalid_argument& e) {
      throw BadInputError(std::string("--image: ") + e.what());
    }
  }

  const int64_t prompt_tokens =
      static_cast<int64_t>(images.empty() ? ids.size() : multimodal.ids.size());
  check_memory_limit(o.gen.memory_limit, m.source.dir.string(), o.gen.kv_cache, !images.empty(),
                     prompt_tokens + default_max_tokens(params.max_tokens, params.model_max_tokens,
                                                        m.model->text().max_position_embeddings,
                                                        prompt_tokens));
  Session session(*m.model, session_options(o.gen));
  Generator generator(session, m.tokenizer->tokenizer, params);
  const bool starts_in_reasoning = prompt_opens_reasoning(text);
  if (o.gen.verbose) {
    print_settings(m, params);
    std::fprintf(stderr, "prompt: %zu tokens, %s\n",
                 images.empty() ? ids.size() : multimodal.ids.size(),
                 starts_in_reasoning ? "starts in reasoning" : "no open reasoning block");
  }

  PieceWriter writer(stdout, is_terminal(stdout));
  InterruptScope interrupts;
  GenerationResult r;
  try {
    const auto on_piece = [&](const TextPiece& p) { writer.write(p); };
    const std::atomic<bool>* cancel = &InterruptScope::flag();
    r = images.empty()
            ? generator.run(ids, starts_in_reasoning, on_piece, cancel)
            : generator.run_multimodal(multimodal, starts_in_reasoning, on_piece, cancel);
  } catch (const std::invalid_argument& e) {
    throw BadInputError(e.what());  // e.g. a prompt longer than the context
  }
  writer.finish();
  r.stats.images = static_cast<int64_t>(images.size());
  r.stats.vision_seconds = encoded.seconds;
  print_result_notices(r, o.gen);
  if (o.gen.verbose)
    std::fprintf(stderr, "stop: %s (max tokens %d)\n",
                 r.cancelled ? "interrupted" : to_string(r.stop), r.max_tokens);
  if (!o.gen.quiet) std::fprintf(stderr, "%s\n", format_stats(r.stats).c_str());
  // Exit code 130, as a shell reports SIGINT: a script can tell a cut answer from a whole one.
  if (r.cancelled) throw Cancelled("interrupted");
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
