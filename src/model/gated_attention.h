// Gated full attention of the Qwen3.5 attention layers (spec §3.5): q projection with a
// per-head output gate, q/k RMSNorm, partial multimodal RoPE, GQA over a KV cache, causal
// softmax, sigmoid gate, output projection.
#pragma once

#include <cstdint>
#include <vector>

#include "model/compute.h"
#include "model/linear_tap.h"
#include "model/qwen35_weights.h"
#include "model/rope.h"
#include "storage/model_config.h"

namespace tf {

// Keys (after norm and RoPE) and values of every cached token of one layer, float32,
// row n = [kv_heads][head_dim] of sequence index n.
struct KVCache {
  std::vector<float> keys, values;
  int64_t length = 0;
  void reset() {
    keys.clear();
    values.clear();
    length = 0;
  }
};

struct GatedAttentionScratch {
  std::vector<float> qg, q, k, v, attn, cos, sin, scores;
};

// x: [count][H] normalised inputs of sequence indices cache.length … cache.length + count − 1
// with rotary positions `positions[0..count)`; appends their keys / values to the cache.
// out: [count][H].
void gated_attention_forward(const GatedAttentionWeights& w, const TextConfig& c,
                             const MultimodalRope& rope, const float* x, int64_t count,
                             const Position3* positions, KVCache& cache, float* out,
                             GatedAttentionScratch& s, const Compute& compute,
                             const LinearTap* tap = nullptr);

}  // namespace tf
