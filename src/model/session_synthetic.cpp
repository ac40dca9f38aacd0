// Session::extend_with_random_context (declared in session.h): a long context for benchmarks.
#include <random>

#include "model/session.h"

namespace tf {

void Session::extend_with_random_context(int64_t length, uint64_t seed) {
  if (length <= length_) return;
  const TextConfig& c = model_.text();
  const int64_t width = static_cast<int64_t>(c.num_key_value_heads) * c.head_dim;
  const int64_t added = length - length_;
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  // One random block reused by every layer (the values do not matter, only the size does).
  std::vector<float> block(static_cast<size_t>(std::min<int64_t>(added, 1024) * width));
  for (float& v : block) v = normal(rng);
  for (int i = 0; i < c.num_hidden_layers; ++i) {
    if (c.layer_types[i] != LayerType::FullAttention) continue;
    KVCache& kv = kv_[i];
    kv.keys.resize(static_cast<size_t>(length * width));
    kv.values.resize(static_cast<size_t>(length * width));
    for (int64_t n = kv.length * width, end = length * width; n < end;) {
      const int64_t m = std::min<int64_t>(static_cast<int64_t>(block.size()), end - n);
      std::copy(block.begin(), block.begin() + m, kv.keys.begin() + n);
      std::copy(block.rbegin(), block.rbegin() + m, kv.values.begin() + n);
      n += m;
    }
    kv.length = length;
  }
  length_ = length;
}

}  // namespace tf
