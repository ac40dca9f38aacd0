// A Request checked and turned into what the worker runs (prepare_request, called by submit on
// the caller's thread so that every mistake is reported before anything is queued): the
// rendered and tokenized prompt, decoded images, the sampling and stop settings with the
// model's defaults filled in, and where the prompt cache may save a prefix.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/engine_context.h"
#include "engine/output_constraint.h"
#include "runtime/image_file.h"
#include "runtime/image_preprocessor.h"
#include "runtime/sampler_config.h"
#include "runtime/stop_conditions.h"
#include "tightfit/tightfit.h"

namespace tightfit {

using Clock = std::chrono::steady_clock;

// Top alternatives a request may ask for per token (OpenAI's top_logprobs limit).
inline constexpr int kMaxTopLogprobs = 20;
// Drafts per speculative step a request may ask for (acceptance falls with each position: more
// only costs verify rows, docs/model.md §10.5).
inline constexpr int kMaxDraftTokens = 16;

struct PreparedRequest {
  std::vector<int32_t> ids;          // the prompt, one image token per image
  std::vector<tf::RgbImage> images;  // decoded; the vision tower encodes them on the worker
  tf::ImagePreprocessorConfig image_config;
  int64_t prompt_tokens = 0;         // with every image expanded to its tokens
  bool starts_in_reasoning = false;  // the prompt leaves a <think> block open
  // Length of the prefix of `ids` the next turn of the conversation renders the same (after
  // the generation prompt's "<|im_start|>assistant\n", runtime/chat_session.h); 0: none.
  size_t stable_point = 0;
  tf::SamplerConfig sampler;
  tf::StopConfig stop;               // max_tokens: the request's budget
  // KV tokens the request's sequence may hold: prompt + max_tokens, at most the context (plus,
  // when it speculates beyond what the engine's plan counted, the MTP head's KV and buffers in
  // tokens of the plan's KV). The memory plan must hold them alone (submit) and beside the
  // running requests' (admission).
  int64_t kv_tokens = 0;
  std::optional<int> thinking_budget;
  OutputConstraint constraint;       // response_format / tool_choice
  int logprobs = -1;
  // Speculative decoding: drafts per step (0 = plain decoding), Request::draft_tokens resolved
  // against the engine's default and the features that need plain steps (prepare_request).
  int draft_tokens = 0;
  bool use_prompt_cache = true;
  Clock::time_point submitted;
};

// Throws InvalidRequest naming the field for anything that cannot run.
PreparedRequest prepare_request(const EngineContext& context, const Request& request);

// The chat template's text for the request's messages (Engine::apply_chat_template).
std::string render_messages(const EngineContext& context, const Request& request,
                            bool add_generation_prompt);

}  // namespace tightfit
