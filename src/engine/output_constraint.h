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

  // Speculative decoding (tf::StepRules, runtime/speculative_decoding.h): the constraint along
  // a step's drafts, leaving the committed state alone. Position 0 is the committed state,
  // position j the state after the drafts d_1 … d_j. fork(drafts) restarts positions 0 …
  // drafts; fork_mask masks with position j's state (its allowed tokens are found once per step
  // and reused by the draft and the verify row); fork_advance makes position j + 1 and returns
  // false when nothing should be drafted after `token` (a complete JSON value, a token the
  // constraint refuses). The buffers are kept from step to step.
  void fork(int drafts);
  std::span<const float> fork_mask(int j, std::span<const float> logits, bool required);
  bool fork_advance(int j, int32_t token);

 private:
  // The constraint's state at one point of the output.
  struct State {
    std::optional<tf::JsonConstraint> json;  // while the answer is constrained
    bool waiting_for_answer = false;         // inside the thought: nothing constrained yet
  };
  struct Fork {
    State state;
    bool ended = false;         // the text ends before this position: nothing to mask
    bool allowed_ready = false;  // `allowed` holds this position's tokens
    std::vector<uint8_t> allowed;
  };
  // `logits` masked by `state` (allowed: its tokens, found unless `ready`); empty when nothing
  // can come and !required.
  std::span<const float> mask(const State& state, std::vector<uint8_t>& allowed, bool ready,
                              std::span<const float> logits, bool required);
  // Advances `state` by `token`; returns true when the JSON value is complete. Throws
  // std::runtime_error when the constraint refuses the token.
  bool advance(State& state, int32_t token) const;
  bool is_eos(int32_t token) const;

  const EngineContext& context_;
  OutputConstraint constraint_;
  State state_;
  std::vector<uint8_t> allowed_;
  std::vector<float> masked_;
  std::vector<Fork> forks_;
};

}  // namespace tightfit
