// Sequence::extend_with_random_context (declared in sequence.h): a long context for benchmarks.
#include <algorithm>
#include <random>
#include <stdexcept>
#include <string>

#include "model/sequence.h"

namespace tf {

void Sequence::extend_with_random_context(int64_t length, uint64_t seed) {
  if (length <= length_) return;
  if (length > capacity_)
    throw std::length_error("extend_with_random_context: " + std::to_string(length) +
                            " tokens, more than the sequence's capacity of " +
                            std::to_string(capacity_));
  const TextConfig& c = model_.text();
  const int64_t dim = c.head_dim;
  const int64_t added = length - length_;
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  // One random block of rows reused by every head and layer (the values do not matter, only the
  // size does), converted once to the cache's type; values are the keys' rows in reverse order.
  const int64_t block_rows = std::min<int64_t>(added, 1024);
  std::vector<float> block(static_cast<size_t>(block_rows * dim));
  for (float& v : block) v = normal(rng);
  const KVType type = kv_type_;
  const int group = kv_group_for(kv_group_size_, dim);
  const size_t row_bytes = kv_row_bytes(type, dim, group);
  std::vector<uint8_t> key_rows(block_rows * row_bytes), value_rows(key_rows.size());
  for (int64_t r = 0; r < block_rows; ++r) {
    store_kv_row(type, block.data() + r * dim, dim, key_rows.data() + r * row_bytes, group);
    store_kv_row(type, block.data() + (block_rows - 1 - r) * dim, dim,
                 value_rows.data() + r * row_bytes, group);
  }
  for (KVCache& kv : kv_) {
    if (kv.heads == 0) continue;
    const int64_t first = kv.length;
    kv.resize(length);
    for (int64_t g = 0; g < kv.heads; ++g)
      for (int64_t row = first; row < length;) {
        const int64_t m = std::min(block_rows, length - row);
        std::copy_n(key_rows.begin(), m * row_bytes, kv.keys(g) + row * row_bytes);
        std::copy_n(value_rows.begin(), m * row_bytes, kv.values(g) + row * row_bytes);
        row += m;
      }
  }
  appended(added, false);
}

}  // namespace tf
