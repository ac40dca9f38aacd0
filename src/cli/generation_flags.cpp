#include "cli/generation_flags.h"

#include <cstdio>
#include <stdexcept>

#include "cli/commands.h"
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
                  "Speculative decoding: tokens the model's MTP head drafts per step (default " +
                      std::to_string(kDefaultDraftTokens) + " = off; 2 is the usual choice)");
  cmd->add_flag("--no-spec", f.no_spec, "Decode one token at a time even if the model has an MTP head");
  optional_option(cmd, "--draft-vocab", f.draft_vocab,
                  "Draft over the N most frequent tokens only (the model folder's " +
                      std::string(DraftVocabulary::kFileName) + ", made by `tightfit draft-vocab`)");
  add_kv_cache_flag(cmd, f.kv_cache);
  add_image_flags(cmd, f.image);
}

void add_kv_cache_flag(CLI::App* cmd, std::string& target) {
  cmd->add_option("--kv-cache", target,
                  "KV cache element type: f16 (half the memory and read time at long context), "
                  "bf16, or f32 (exact)")
      ->check(CLI::IsMember({"f16", "bf16", "f32"}))
      ->capture_default_str();
}

KVType kv_cache_type(const std::string& name) {
  try {
    return parse_kv_type(name);
  } catch (const std::invalid_argument& e) {
    throw UsageError(std::string("--kv-cache: ") + e.what());
  }
}

SessionOptions session_options(const GenerationFlags& f) {
  SessionOptions o;
  o.kv_type = kv_cache_type(f.kv_cache);
  return o;
}

LoadedModel load_model(const GenerationFlags& f, bool vision) {
  ResolvedModel source = resolve_model_flag(f.model);
  SigintBlockForNewThreads block;  // the worker threads must leave Ctrl-C to the main thread
  try {
    return LoadedModel::load(std::move(source), f.threads, ModelLoadOptions{.vision = vision});
  } catch (const ModelNotFoundError& e) {  // a folder without tokenizer.json
    throw ModelNotFoundError("--model " + f.model + ": " + e.what());
  }
}

void print_settings(const LoadedModel& m, const GenerationParams& p) {
  const SamplerConfig& s = p.sampler;
  std::fprintf(stderr, "model: %s (%d layers, vocab %lld, %d threads)\n",
               m.source.dir.string().c_str(), m.model->text().num_hidden_layers,
               static_cast<long long>(m.model->vocab_size()), m.model->pool().num_threads());
  std::fprintf(stderr,
               "sampling: temp %g, top_p %g, top_k %d, min_p %g, repetition_penalty %g, "
               "presence %g, frequency %g%s\n",
               s.temperature, s.top_p, s.top_k, s.min_p, s.repetition_penalty,
               s.presence_penalty, s.frequency_penalty,
               s.seed ? (", seed " + std::to_string(*s.seed)).c_str() : "");
}

void print_result_notices(const GenerationResult& r, const GenerationFlags& f) {
  if (!r.notice.empty()) std::fprintf(stderr, "tightfit: %s\n", r.notice.c_str());
  if (f.hide_thinking && r.ended_in_reasoning && r.answer.empty()) {
    const std::string why = r.cancelled ? "it was interrupted"
                            : r.stop == StopReason::max_tokens
                                ? "it reached the limit of " + std::to_string(r.max_tokens) + " tokens"
                                : "it stopped";
    std::fprintf(stderr,
                 "tightfit: no answer to show: %s inside the reasoning, which --hide-thinking "
                 "hides (raise --max-tokens, or drop --hide-thinking to see the reasoning)\n",
                 why.c_str());
  }
}

std::optional<bool> thinking_flag(const GenerationFlags& f) {
  if (f.thinking.empty()) return std::nullopt;
  return f.thinking == "on";
}

nlohmann::ordered_json template_kwargs(const GenerationFlags& f) {
  if (f.chat_template_args.empty()) return nlohmann::ordered_json::object();
  nlohmann::ordered_json j;
  try {
    j = nlohmann::ordered_json::parse(f.chat_template_args);
  } catch (const nlohmann::json::parse_error&) {
    throw UsageError("--chat-template-args is not valid JSON: " + f.chat_template_args);
  }
  if (!j.is_object())
    throw UsageError("--chat-template-args must be a JSON object, e.g. '{\"enable_thinking\": false}'");
  return j;
}

// --draft / --no-spec: speculation by default when the model has an MTP head.
static int draft_tokens(const GenerationFlags& f, const Model& model) {
  if (f.no_spec) {
    if (f.draft) throw UsageError("--draft and --no-spec contradict each other: give one");
    return 0;
  }
  if (!f.draft) return model.mtp() ? kDefaultDraftTokens : 0;
  if (*f.draft < 0) throw UsageError("--draft must be 0 or more, got " + std::to_string(*f.draft));
  if (*f.draft > 0 && !model.mtp())
    throw BadInputError("--draft: the model has no multi-token-prediction head (mtp.*); "
                        "convert it with --keep-mtp, or drop --draft");
  return *f.draft;
}

GenerationParams generation_params(const GenerationFlags& f, const LoadedModel& m) {
  GenerationParams p;
  SamplerOverrides overrides = f.sampling;
  try {
    if (!f.logit_bias.empty()) overrides.logit_bias = parse_logit_bias(f.logit_bias);
    p.sampler = apply_overrides(m.defaults.sampler, overrides);
    validate(p.sampler);
  } catch (const std::invalid_argument& e) {
    throw UsageError(e.what());
  }
  const int64_t vocab = m.model->vocab_size();
  for (const auto& [id, bias] : p.sampler.logit_bias)
    if (id < 0 || id >= vocab)
      throw BadInputError("--logit-bias: token id " + std::to_string(id) +
                          " is outside the vocabulary (0.." + std::to_string(vocab - 1) + ")");
  if (f.max_tokens && *f.max_tokens <= 0)
    throw UsageError("--max-tokens must be a positive number, got " +
                     std::to_string(*f.max_tokens));
  for (const std::string& s : f.stop)
    if (s.empty()) throw UsageError("--stop: a stop string cannot be empty");
  p.max_tokens = f.max_tokens;
  p.model_max_tokens = m.defaults.max_new_tokens;
  p.eos_token_ids = m.eos_token_ids();
  p.stop_strings = f.stop;
  p.loop_guard.enabled = !f.no_loop_guard;
  p.show_reasoning = !f.hide_thinking;
  p.draft_tokens = draft_tokens(f, *m.model);
  if (f.draft_vocab && p.draft_tokens > 0) {
    if (*f.draft_vocab <= 0)
      throw UsageError("--draft-vocab must be a positive number of tokens, got " +
                       std::to_string(*f.draft_vocab));
    const std::string list = m.model->checkpoint().dir() + "/" + DraftVocabulary::kFileName;
    try {
      p.draft_vocabulary = std::make_shared<const DraftVocabulary>(
          *m.model, DraftVocabulary::read_ids(list), *f.draft_vocab);
    } catch (const std::exception& e) {
      throw BadInputError(std::string("--draft-vocab: ") + e.what() +
                          " (build the list with `tightfit draft-vocab`)");
    }
  }
  return p;
}

}  // namespace tf::cli
