// The KV cache of one gated-attention layer (spec §3.5): keys (after norm and RoPE) and values
// of every token so far, stored as `type` (kernels/ops_attention.h; converted once when
// appended; a quantized type is quantized row by row as the layer appends it, per group of
// `group_size` elements of the head dim). Each kv head has its own contiguous rows, [capacity][row]: a decode step streams
// one head's rows per task, and contiguous rows are what the hardware prefetchers (and the
// kernel's software prefetch) follow best.
//
// The whole capacity is reserved as address space when the cache is made (ReservedMemory,
// model/reserved_memory.h) and memory is provided page by page as rows are written: the cache
// never reallocates, so growing never holds two copies and row addresses never move. A row is
// kv_row_bytes of its type (codes, then the group scales and biases for q8 / q4 / q2), so the
// quantized types change only that size and the row conversions, not this layout.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

#include "kernels/ops_attention.h"
#include "model/reserved_memory.h"

namespace tf {

struct KVCache {
  KVType type = KVType::F32;
  int group_size = 64;              // quantized types: elements per scale / bias
  int64_t heads = 0, head_dim = 0;  // 0 heads: a layer without a KV cache
  int64_t capacity = 0;             // rows it can hold
  int64_t length = 0;
  ReservedMemory memory;  // keys of every head, then values of every head

  KVCache() = default;
  // group: kv_group_for(group_size, dim). Throws std::invalid_argument when a quantized type
  // cannot store rows of dim elements with that group (validate_kv_row).
  KVCache(KVType t, int64_t kv_heads, int64_t dim, int64_t capacity_rows, int group = 64)
      : type(t),
        group_size(checked_group(t, dim, group)),
        heads(kv_heads),
        head_dim(dim),
        capacity(capacity_rows),
        memory(2 * static_cast<size_t>(kv_heads) * static_cast<size_t>(capacity_rows) *
               kv_row_bytes(t, dim, group_size)) {}

  // Bytes of one head's row, and of one token's keys or values over all heads.
  size_t head_row_bytes() const { return kv_row_bytes(type, head_dim, group_size); }
  size_t row_bytes() const { return static_cast<size_t>(heads) * head_row_bytes(); }
  // Bytes held: keys and values of every cached token.
  size_t bytes() const { return 2 * static_cast<size_t>(length) * row_bytes(); }

  // Keeps the first `rows` rows (rows ≤ length), or makes room for more (contents unset).
  // Throws std::length_error beyond the capacity.
  void resize(int64_t rows) {
    if (rows > capacity)
      throw std::length_error("KV cache: " + std::to_string(rows) + " tokens, more than the " +
                              std::to_string(capacity) + " it was planned for");
    length = rows;
  }
  // Empties the cache and gives its memory back.
  void reset() {
    length = 0;
    memory.release_from(0);
  }

  // Where kv head g's key / value rows begin.
  uint8_t* keys(int64_t g) { return memory.data() + static_cast<size_t>(g) * head_bytes(); }
  uint8_t* values(int64_t g) { return keys(heads + g); }
  const uint8_t* keys(int64_t g) const {
    return memory.data() + static_cast<size_t>(g) * head_bytes();
  }
  const uint8_t* values(int64_t g) const { return keys(heads + g); }

  // Writes token row `row` (< length) from float keys / values [heads][head_dim].
  void store(int64_t row, const float* k, const float* v) {
    const size_t at = static_cast<size_t>(row) * head_row_bytes();
    for (int64_t g = 0; g < heads; ++g) {
      store_kv_row(type, k + g * head_dim, head_dim, keys(g) + at, group_size);
      store_kv_row(type, v + g * head_dim, head_dim, values(g) + at, group_size);
    }
  }
  // The rows of kv head g.
  KVRows head(int64_t g) const { return {keys(g), values(g), head_dim, type, group_size}; }

 private:
  static int checked_group(KVType t, int64_t dim, int group) {
    const int g = kv_group_for(group, dim);
    validate_kv_row(t, dim, g);
    return g;
  }
  size_t head_bytes() const { return static_cast<size_t>(capacity) * head_row_bytes(); }
};

}  // namespace tf
