// The generation loop on one Session (the runtime API; the engine's scheduler runs the same
// per-token pipeline for batched requests, engine/running_request.h): prompt ids in, streamed
// text pieces (reasoning / answer) out through a callback, a stop reason and timing stats at
// the end.
//
// One step per token: sample from the logits → stop checks (EOS, max tokens, loop guard) →
// streaming decode (whole UTF-8 characters) → stop-string filter (never prints a stop string)
// → reasoning/answer split → callback. The loop then feeds the token back (decode) unless it
// stopped, so the session ends holding the prompt and every generated token but the last.
//
//   Generator gen(session, tokenizer, params);
//   GenerationResult r = gen.run(prompt_ids, prompt_opens_reasoning(prompt_text),
//                                [](const TextPiece& p) { print(p); }, &cancel_flag);
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "model/session.h"
#include "runtime/generation_stats.h"
#include "runtime/loop_guard.h"
#include "runtime/multimodal_prompt.h"
#include "runtime/reasoning_split.h"
#include "runtime/sampler.h"
#include "runtime/stop_conditions.h"
#include "tokenizer/tokenizer.h"

namespace tf {

// Upper bound of the default --max-tokens until the memory plan sizes it from the KV budget:
// generation is never unbounded (see default_max_tokens).
inline constexpr int kSafeMaxTokens = 4096;

struct GenerationParams {
  SamplerConfig sampler;
  std::vector<int32_t> eos_token_ids;     // generation_config.json + the tokenizer's eos token
  std::vector<std::string> stop_strings;  // --stop
  std::optional<int> max_tokens;          // unset: default_max_tokens(...)
  std::optional<int> model_max_tokens;    // generation_config.json's max_new_tokens, if any
  LoopGuardConfig loop_guard;
  bool show_reasoning = true;             // false: reasoning pieces are not passed on
  // Added tokens flagged special (<|im_start|>, ...) are not printed; non-special added tokens
  // such as <think> and <tool_call> are text and stay.
  bool skip_special_tokens = true;
};

// The --max-tokens a run gets when none is asked for: the smallest of the model's own default
// (max_new_tokens), kSafeMaxTokens and the room left in the context window
// (max_position_embeddings − prompt length). An explicit request is only capped by the room.
// 0 when the prompt already fills the context.
int default_max_tokens(std::optional<int> requested, std::optional<int> model_default,
                       int64_t context_length, int64_t prompt_tokens);


struct GenerationResult {
  std::vector<int32_t> tokens;  // every sampled token, in order (an EOS included)
  std::string reasoning;        // the split text (also what was hidden)
  std::string answer;
  // The output stopped inside the reasoning block (cut by the token budget, Ctrl-C or a stop
  // string before "</think>"): there may be no answer at all.
  bool ended_in_reasoning = false;
  StopReason stop = StopReason::none;  // none when cancelled
  bool cancelled = false;
  std::string notice;           // e.g. the loop guard's line; empty otherwise
  int max_tokens = 0;           // the budget this run had
  GenerationStats stats;
};

using PieceCallback = std::function<void(const TextPiece&)>;

class Generator {
 public:
  // The session and tokenizer must outlive the generator. Validates the sampling settings
  // (std::invalid_argument naming the flag). The sampler, and so its random stream, lives as
  // long as the generator: a seeded chat is reproducible turn after turn.
  Generator(Session& session, const tokenizer::Tokenizer& tokenizer, GenerationParams params);

  // Generates a continuation of `prompt`. The session must hold a prefix of it (empty, or a
  // restored checkpoint): only prompt[session.length():] is prefilled, and at least one token
  // must be left to prefill. `starts_in_reasoning`: the prompt left a <think> block open
  // (prompt_opens_reasoning). `cancel`, when given, is checked before every token and between
  // prefill batches; a cancelled run returns what it had, with cancelled = true.
  // Throws std::invalid_argument when the prompt is empty, does not extend the session or fills
  // the context; model errors (NaN logits, ...) propagate.
  GenerationResult run(std::span<const int32_t> prompt, bool starts_in_reasoning,
                       const PieceCallback& on_piece, const std::atomic<bool>* cancel = nullptr);
  // The same for a prompt with images (runtime/multimodal_prompt.h): its embeddings and 3-D
  // positions are prefilled (from session.length() on), then decode continues with its rope
  // delta. A prompt without images behaves exactly as the ids-only overload.
  GenerationResult run_multimodal(const MultimodalPrompt& prompt, bool starts_in_reasoning,
                                  const PieceCallback& on_piece,
                                  const std::atomic<bool>* cancel = nullptr);

  const GenerationParams& params() const { return params_; }
  Sampler& sampler() { return sampler_; }

 private:
  GenerationResult run_impl(std::span<const int32_t> prompt, const MultimodalPrompt* multimodal,
                            bool starts_in_reasoning, const PieceCallback& on_piece,
                            const std::atomic<bool>* cancel);

  Session& session_;
  const tokenizer::Tokenizer& tokenizer_;
  GenerationParams params_;
  Sampler sampler_;
};

}  // namespace tf
