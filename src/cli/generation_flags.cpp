#include "cli/generation_flags.h"

#include <cstdio>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "base/json_read.h"
#include "cli/commands.h"
#include "cli/memory_limit_flag.h"
#include "cli/interrupt.h"
#include "cli/model_flag.h"
#include "cli/threads_flag.h"

namespace tf::cli {

namespace {

// An option that sets a std::optional only when given.
template <typename T>
CLI::Option* optional_option(CLI::App* cmd, const std::string& name, std::optional<T>& target,
                             const std::string& description) {
  return cmd->add_option_function<T>(
      name, [&target](const T& value) { target = value; }, description);
}

}  // namespace

void add_generation_flags(CLI::App* cmd, GenerationFlags& f) {
  cmd->add_option("--model,-m", f.model, kModelFlagHelp)->required();
  add_threads_flag(cmd, f.threads);
  cmd->add_option("--system,--system-prompt", f.system, "System message");
  optional_option(cmd, "--max-tokens,-n", f.max_tokens,
                  "Most tokens to generate (default: the smallest of generation_config.json's "
                  "max_new_tokens, 4096 and the context left)");
  optional_option(cmd, "--ctx-size,-c,--context", f.context,
                  "Tokens the conversation may hold, prompt and answer (default: the model's "
                  "context length)");
  SamplerOverrides& s = f.sampling;
  optional_option(cmd, "--temp,--temperature", s.temperature, "Sampling temperature (0 = greedy)");
  optional_option(cmd, "--top-p", s.top_p, "Nucleus sampling mass (1 = off)");
  optional_option(cmd, "--top-k", s.top_k, "Keep the k most likely tokens (0 = off)");
  optional_option(cmd, "--min-p", s.min_p, "Drop tokens below min-p times the top probability");
  optional_option(cmd, "--presence-penalty", s.presence_penalty,
                  "Subtracted from the logit of every token already in the window");
  optional_option(cmd, "--frequency-penalty", s.frequency_penalty,
                  "Subtracted once per occurrence in the window");
  optional_option(cmd, "--repetition-penalty", s.repetition_penalty,
                  "CTRL repetition penalty (1 = off)");
  optional_option(cmd, "--repetition-context-size", s.repetition_context_size,
                  "Tokens the repetition penalty looks back over (default 20)");
  optional_option(cmd, "--seed,-s", s.seed, "Random seed (same seed, same output)");
  cmd->add_option("--logit-bias", f.logit_bias, "Add to token logits: ID:BIAS[,ID:BIAS...]");
  // Several values after one flag (--stop x y, as mlx_lm takes them) or the flag repeated.
  cmd->add_option("--stop", f.stop, "Stop when any of these texts is generated (not printed)");
  cmd->add_option("--thinking", f.thinking,
                  "Reasoning before the answer: on or off (default: the chat template's)")
      ->check(CLI::IsMember({"on", "off"}));
  cmd->add_option("--chat-template-args", f.chat_template_args,
                  "Extra chat-template variables as a JSON object, e.g. "
                  "'{\"enable_thinking\": false}'");
  cmd->add_flag("--hide-thinking", f.hide_thinking, "Print only the answer, not the reasoning");
  cmd->add_flag("--no-loop-guard", f.no_loop_guard,
                "Do not stop when the output becomes one n-gram repeated over and over");
  cmd->add_flag("--verbose,-v", f.verbose, "Print the model, prompt and settings on stderr");
  cmd->add_flag("--quiet,-q", f.quiet, "Do not print the stats line");
  optional_option(cmd, "--draft", f.draft,
                  "Speculative decoding: tokens the model's MTP head drafts per step (0 = off, "
                  "the default; the output is the same either way)");
  cmd->add_flag("--no-spec", f.no_spec, "Decode one token at a time (no speculative decoding)");
  optional_option(cmd, "--draft-vocab", f.draft_vocab,
                  "Draft over the N most frequent tokens of the model's draft_vocab.txt only "
                  "(made by `tightfit draft-vocab`)");
  add_kv_cache_flags(cmd, f.kv_cache);
  add_memory_limit_flag(cmd, f.memory_limit);
  add_mlock_flag(cmd, f.mlock);
  add_image_flags(cmd, f.image);
}

std::optional<bool> thinking_flag(const GenerationFlags& f) {
  if (f.thinking.empty()) return std::nullopt;
  return f.thinking == "on";
}

nlohmann::ordered_json template_kwargs(const GenerationFlags& f) {
  if (f.chat_template_args.empty()) return nlohmann::ordered_json::object();
  nlohmann::ordered_json j;
  try {
    j = parse_ordered_json(f.chat_template_args, "--chat-template-args");
  } catch (const std::runtime_error& e) {
    throw UsageError(e.what());
  }
  if (!j.is_object())
    throw UsageError("--chat-template-args must be a JSON object, e.g. '{\"enable_thinking\": false}'");
  return j;
}

}  // namespace tf::cli
