// Gated DeltaNet (linear attention) mixer of the Qwen3.5 linear-attention layers (spec §3.4):
// projections, causal conv + SiLU with a rolling state, q/k L2 norm, β and decay gates, the
// gated delta rule (per-token step for one token, chunked form for a batch), gated RMSNorm
// and the output projection.
#pragma once

#include <cstdint>
#include <vector>

#include "model/compute.h"
#include "model/linear_tap.h"
#include "model/qwen35_weights.h"
#include "storage/model_config.h"

namespace tf {

// Per-sequence state of one layer: the last K − 1 raw (pre-conv) projections and the fp32
// recurrent state of every value head, S_j ∈ R^{Dk×Dv} (spec §3.4 steps 2, 7; §9.5).
struct GatedDeltaNetState {
  std::vector<float> conv;       // [K − 1][conv_dim]
  std::vector<float> recurrent;  // [Hv][Dk][Dv]
  explicit GatedDeltaNetState(const TextConfig& c);
  void reset();
};

// Reusable buffers of one forward call (kept by the session, shared by all layers).
struct GatedDeltaNetScratch {
  std::vector<float> mixed, conv_out, z, b, a, g, beta, core, work;
};

// Chunk length of the parallel delta rule in prefill (spec §3.4 step 8; any length is exact).
inline constexpr int kDeltaRuleChunk = 64;

// x: [count][H] normalised inputs; out: [count][H]. count == 1 runs the per-token recurrence,
// longer batches the chunked form.
void gated_deltanet_forward(const GatedDeltaNetWeights& w, const TextConfig& c, const float* x,
                            int64_t count, GatedDeltaNetState& state, float* out,
                            GatedDeltaNetScratch& s, const Compute& compute,
                            const LinearTap* tap = nullptr);

}  // namespace tf
