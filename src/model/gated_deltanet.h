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

// The states one layer went through during one forward batch of a sequence, so that the state
// after any prefix of the batch can be taken back without re-running it (speculative decoding:
// feed k drafts, keep the first m). As vLLM (spec_state_indices_tensor), SGLang
// (intermediate_ssm / intermediate_conv_window) and mlx-vlm (rollback_speculative_cache) do:
// the recurrent state after every token of the batch, and the raw conv inputs, from which the
// window after m tokens is rows [m, m + K − 1). Each token's step writes its state into its own
// buffer (no copies), and the buffers trade places with the live state instead of being copied
// back: after the forward, states[t] is the state after token t + 1 for t < tokens − 1 and
// states[tokens − 1] the state before the batch (the live state is the one after it).
struct GatedDeltaNetHistory {
  int64_t tokens = 0;               // tokens of the batch
  int64_t conv_dim = 0;             // channels of a raw row
  std::vector<float> conv_input;    // [K − 1 + tokens][conv_dim]: old window, then raw rows
  std::vector<RecurrentStateBuffer> states;  // [tokens] × [Hv][Dk][Dv], as above
  // Sets `state` to what it was after the first `kept` tokens of the batch (0 ≤ kept ≤ tokens)
  // by exchanging buffers. Again with a smaller `kept` afterwards it still holds (the buffer a
  // restore exchanged is the one of a longer prefix, never asked for again).
  void restore(int64_t kept, GatedDeltaNetState& state);
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
// run per sequence on its own state, by the per-token recurrence (recording the state after
// every token when the sequence has a history).
void gated_deltanet_forward(const GatedDeltaNetWeights& w, const TextConfig& c, const float* x,
                            int64_t count, std::span<const GatedDeltaNetRows> rows, float* out,
                            GatedDeltaNetScratch& s, const Compute& compute,
                            const LinearTap* tap = nullptr);

}  // namespace tf
