// Feed-forward blocks: the sparse MoE of Qwen3.5 MoE layers (spec §3.7) and the dense SwiGLU
// MLP of dense Qwen3.5 layers (spec §1.5).
#pragma once

#include <cstdint>
#include <vector>

#include "model/compute.h"
#include "model/linear_tap.h"
#include "model/qwen35_weights.h"
#include "storage/model_config.h"

namespace tf {

struct SwiGluScratch {
  std::vector<float> gate, up;
};

struct MoeScratch {
  std::vector<float> router;          // [T][E] logits, then probabilities
  std::vector<int32_t> selected;      // [T][k] expert ids
  std::vector<float> weights;         // [T][k] renormalised routing weights
  std::vector<int64_t> expert_begin;  // [E + 1] offsets into `rows`
  std::vector<int64_t> rows;          // token·k + slot, grouped by expert
  std::vector<int64_t> token_rows;    // [T][k] the token's indices into `rows`, ascending
  std::vector<int64_t> cursor;        // fill positions while building rows / token_rows
  std::vector<float> xs, gate, up, ys;  // per routed row: input, gate, up, output
  std::vector<float> shared, shared_gate;
  SwiGluScratch swiglu;
  std::vector<MatmulJob> jobs;
};

// out[count][H] = down(silu(gate x) ⊙ up x) for x: [count][H].
// tap (optional) reports the three projections as `<module>gate_proj` etc., with `expert`.
void swiglu_forward(const SwiGluWeights& w, const float* x, int64_t count, float* out,
                    SwiGluScratch& s, const Compute& compute, const LinearTap* tap = nullptr,
                    const char* module = "mlp.", int expert = -1);

// Router softmax (fp32) over all experts, top-k, renormalisation (when norm_topk_prob), routed
// experts plus the σ-gated shared expert. Tokens routed to the same expert are gathered and
// multiplied together, so each selected expert's weights are read once per call and unselected
// experts are never touched; all gate/up products go to the pool as one batch, then all down
// products. out: [count][H].
void moe_forward(const MoeWeights& w, const TextConfig& c, const float* x, int64_t count,
                 float* out, MoeScratch& s, const Compute& compute,
                 const LinearTap* tap = nullptr);

// Top-k of one token's router probabilities: ids by descending probability, ties to the lower
// id. Writes k ids.
void select_top_k(const float* probs, int num_experts, int k, int32_t* ids);

}  // namespace tf
