// Constrained sampling for one request: Request::response_format and Request::tool_choice made
// into a JsonConstraint (runtime/json_constraint.h) that masks the logits before the sampler
// (logit bias, penalties, temperature, top-k/top-p/min-p then see only the allowed tokens).
//
// With thinking on, the constraint starts after </think>, as vLLM's structured outputs with a
// reasoning parser and llama.cpp's reasoning-aware grammars do: the thought is free, the answer
// is constrained. A JSON answer ends (stop reason eos) when its value is complete; a required
// tool call only fixes the start `<tool_call>\n<function=NAME>` (spec §7 of docs/qwen35-spec.md's
// tool-call format) and the rest is generated freely and parsed as usual.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "engine/engine_context.h"
#include "runtime/json_constraint.h"
#include "tightfit/tightfit.h"

namespace tightfit {

// What a request asks for, checked on the caller's thread (prepare_request).
struct OutputConstraint {
  std::shared_ptr<const tf::JsonSchemaGraph> graph;  // null: the answer is free
  bool json = false;                 // the answer is the value: EOS only when whole, stop when complete
  std::vector<int32_t> banned;       // never sampled (tool_choice none: <tool_call>)
  bool active() const { return graph || !banned.empty(); }
};

// Throws InvalidRequest (param response_format / tool_choice) for a schema outside the subset,
// a tool choice naming no tool, or both a JSON format and a required tool call.
OutputConstraint make_output_constraint(const EngineContext& context, const Request& request);

// The per-token side, on the worker.
class ConstrainedSampling {
 public:
  ConstrainedSampling(const EngineContext& context, OutputConstraint constraint,
                      bool starts_in_reasoning);

  // The logits to sample from: `logits` itself when nothing is masked now, else a copy with the
  // refused tokens at -inf. Throws std::runtime_error when no token can continue.
  std::span<const float> mask(std::span<const float> logits);
  // Records the token chosen (sampled or forced). Returns true when the constrained JSON value
  // is complete: the answer ends here.
  bool accept(int32_t token);

 private:
  const EngineContext& context_;
  OutputConstraint constraint_;
  std::optional<tf::JsonConstraint> state_;  // while the answer is constrained
  bool waiting_for_answer_;                  // inside the thought: nothing constrained yet
  std::vector<uint8_t> allowed_;
  std::vector<float> masked_;
};

}  // namespace tightfit
