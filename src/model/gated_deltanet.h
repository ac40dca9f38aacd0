// Gated DeltaNet (linear attention) mixer of the Qwen3.5 linear-attention layers (spec §3.4):
// projections, causal conv + SiLU with a rolling state, q/k L2 norm, β and decay gates, the
// gated delta rule (the per-token recurrence over each sequence's rows), gated RMSNorm
// and the output projection.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "base/cache_line_allocator.h"
#include "model/compute.h"
#include "model/linear_tap.h"
#include "model/qwen35_weights.h"
#include "storage/model_config.h"

namespace tf {

// A recurrent state's floats, aligned to a cache line: the delta rule streams the states a verify
// batch keeps (non-temporal stores need aligned vectors; kernels/ops_delta_rule_simd.cpp).
using RecurrentStateBuffer = std::vector<float, CacheLineAllocator<float>>;

// Per-sequence state of one layer: the last K − 1 raw (pre-conv) projections and the fp32
// recurrent state of every value head, S_j ∈ R^{Dk×Dv} (spec §3.4 steps 2, 7; §9.5).
struct GatedDeltaNetState {
  std::vector<float> conv;       // [K − 1][conv_dim]
  RecurrentStateBuffer recurrent;  // [Hv][Dk][Dv]
  explicit GatedDeltaNetState(const TextConfig& c);
  void reset();
};

// What one layer needs to take its state back to any prefix of the last forward batch of a
// sequence (speculative decoding: feed k drafts, keep the first m). The recurrent state before
// the batch (the forward writes the state after it into a second buffer and the two trade
// places) and each token's delta-rule inputs (q, k, v after the conv and norms; the gates), so
// that the state after m tokens is the recurrence of those m tokens re-run from it — bit for
// bit the state the batch went through (kernels/ops_delta_rule.h). The window after m tokens
// comes from the raw conv inputs: rows [m, m + K − 1) of (old window, raw rows), the index rule
// of mlx-vlm's rollback. vLLM, SGLang and mlx-vlm instead keep the state after every token of
// the batch; re-running reads and writes one state only when a draft was rejected, where
// keeping k + 1 states writes them at every step (bench/RESULTS.md, "Delta-rule states of a
// verify batch").
struct GatedDeltaNetHistory {
  int64_t tokens = 0;               // tokens of the batch
  int64_t conv_dim = 0;             // channels of a raw row
  std::vector<float> conv_input;    // [K − 1 + tokens][conv_dim]: old window, then raw rows
  RecurrentStateBuffer before;      // [Hv][Dk][Dv]: the recurrent state before the batch
  std::vector<float> inputs;        // [tokens][conv_dim]: q | k | v after the conv and norms
  std::vector<float> g, beta;       // [Hv][tokens]: log-decay and write strength
  // Sets `state` to what it was after the first `kept` tokens of the batch (0 ≤ kept ≤ tokens)
  // — the recurrence re-run on the pool for kept < tokens. Again with a smaller `kept`
  // afterwards it still holds (`before` is left as it was).
  void restore(int64_t kept, GatedDeltaNetState& state, const TextConfig& c,
               const Compute& compute) const;
};

// One sequence's rows of a forward batch: rows [begin, begin + count) of the batch's inputs,
// its state, and (optional) where to record the per-token history.
struct GatedDeltaNetRows {
  int64_t begin = 0, count = 0;
  GatedDeltaNetState* state = nullptr;
  GatedDeltaNetHistory* history = nullptr;
};

// Reusable buffers of one forward call (kept by the forward pass, shared by all layers).
struct GatedDeltaNetScratch {
  std::vector<float> mixed, conv_out, z, b, a, g, beta, core;
};

// x: [count][H] normalised inputs of the sequences in `rows` (which cover [0, count) in
// order); out: [count][H]. The projections run once over all rows; the conv and the delta rule
// run per sequence on its own state, by the per-token recurrence (recording what a rewind
// needs when the sequence has a history: GatedDeltaNetHistory).
void gated_deltanet_forward(const GatedDeltaNetWeights& w, const TextConfig& c, const float* x,
                            int64_t count, std::span<const GatedDeltaNetRows> rows, float* out,
                            GatedDeltaNetScratch& s, const Compute& compute,
                            const LinearTap* tap = nullptr);

}  // namespace tf
