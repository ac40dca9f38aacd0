// The KV cache of one gated-attention layer (spec §3.5): keys (after norm and RoPE) and values
// of every token so far, stored as `type` (kernels/ops_attention.h; converted once when
// appended). Each kv head has its own contiguous buffers, [length][head_dim]: a decode step
// streams one head's rows per task, and contiguous rows are what the hardware prefetchers (and
// the kernel's software prefetch) follow best.
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/ops_attention.h"

namespace tf {

struct KVCache {
  KVType type = KVType::F32;
  int64_t heads = 0, head_dim = 0;  // 0 heads: a layer without a KV cache
  int64_t length = 0;
  std::vector<std::vector<uint8_t>> keys, values;  // per kv head: [length][head_dim] of `type`

  KVCache() = default;
  KVCache(KVType t, int64_t kv_heads, int64_t dim)
      : type(t), heads(kv_heads), head_dim(dim), keys(kv_heads), values(kv_heads) {}

  // Bytes of one head's row, and of one token's keys or values over all heads.
  size_t head_row_bytes() const { return static_cast<size_t>(head_dim) * kv_type_bytes(type); }
  size_t row_bytes() const { return static_cast<size_t>(heads) * head_row_bytes(); }
  // Bytes held: keys and values of every cached token.
  size_t bytes() const { return 2 * static_cast<size_t>(length) * row_bytes(); }

  // Keeps the first `rows` rows (rows ≤ length), or makes room for more (contents unset).
  void resize(int64_t rows) {
    for (int64_t g = 0; g < heads; ++g) {
      keys[g].resize(static_cast<size_t>(rows) * head_row_bytes());
      values[g].resize(keys[g].size());
    }
    length = rows;
  }
  // Capacity for `rows` rows without reallocating (and copying) the buffers.
  void reserve(int64_t rows) {
    for (int64_t g = 0; g < heads; ++g) {
      keys[g].reserve(static_cast<size_t>(rows) * head_row_bytes());
      values[g].reserve(keys[g].capacity());
    }
  }
  void reset() { resize(0); }

  // Writes token row `row` (< length) from float keys / values [heads][head_dim].
  void store(int64_t row, const float* k, const float* v) {
    const size_t at = static_cast<size_t>(row) * head_row_bytes();
    for (int64_t g = 0; g < heads; ++g) {
      store_kv_row(type, k + g * head_dim, head_dim, keys[g].data() + at);
      store_kv_row(type, v + g * head_dim, head_dim, values[g].data() + at);
    }
  }
  // The rows of kv head g.
  KVRows head(int64_t g) const { return {keys[g].data(), values[g].data(), head_dim, type}; }
};

}  // namespace tf
