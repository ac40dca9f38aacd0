// Gated full attention of the Qwen3.5 attention layers (spec §3.5): q projection with a
// per-head output gate, q/k RMSNorm, partial multimodal RoPE, GQA over a KV cache, causal
// softmax, sigmoid gate, output projection.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "model/compute.h"
#include "model/gated_attention_kv_cache.h"
#include "model/linear_tap.h"
#include "model/qwen35_weights.h"
#include "model/rope.h"
#include "storage/model_config.h"

namespace tf {

// One sequence's rows of a forward batch: rows [begin, begin + count) of the batch's inputs
// and the sequence's KV cache for this layer.
struct GatedAttentionRows {
  int64_t begin = 0, count = 0;
  KVCache* cache = nullptr;
};

// Prefill at depth (gated_attention.cpp): query tokens per block sharing each read of the rows
// cached before the batch, and the depth from which that pays (below it, one pass per token).
inline constexpr int64_t kQueryBlock = 16;
inline constexpr int64_t kQueryBlockMinDepth = 16;

// A block of a sequence's batch rows [t0, t0 + count) over `base` rows cached before the batch.
struct QueryBlock {
  int64_t t0 = 0, count = 0, base = 0;
};

struct GatedAttentionScratch {
  std::vector<float> qg, q, k, v, attn, cos, sin;
  std::vector<float> part_acc, part_max, part_sum;  // split decode: partial results per range
  std::vector<float> block_work;  // prefill at depth: per thread, a query block's buffers
  std::vector<QueryBlock> blocks;
  std::vector<const KVCache*> row_cache;  // per batch row: its sequence's cache
  std::vector<int64_t> row_visible;       // per batch row: cached rows it attends to
};

// x: [count][H] normalised inputs of the sequences in `rows` (which cover [0, count) in
// order), with rotary positions `positions[0..count)`. A sequence's rows are its indices
// cache.length … cache.length + rows − 1: their keys / values are appended to its cache (made
// with the layer's kv heads and head size) and they attend causally over it. The projections
// run once over all rows. out: [count][H].
void gated_attention_forward(const GatedAttentionWeights& w, const TextConfig& c,
                             const MultimodalRope& rope, const float* x, int64_t count,
                             const Position3* positions, std::span<const GatedAttentionRows> rows,
                             float* out, GatedAttentionScratch& s, const Compute& compute,
                             const LinearTap* tap = nullptr);

// How many row ranges each (token, kv head) pair's attention is split into when `pairs` pairs
// over at most `rows` cached rows run on `threads` threads (1: no split). Decode has only
// kv_heads pairs per layer, so at long context their rows are spread over the threads.
int64_t attention_splits(int64_t pairs, int64_t rows, int threads);

}  // namespace tf
