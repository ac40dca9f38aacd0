#include "model/sequence.h"

namespace tf {

namespace {

// Attention layers keep an empty DeltaNet state.
TextConfig without_deltanet(TextConfig c) {
  c.linear_num_key_heads = c.linear_num_value_heads = 0;
  c.linear_key_head_dim = c.linear_value_head_dim = 0;
  c.linear_conv_kernel_dim = 1;
  return c;
}

}  // namespace

Sequence::Sequence(const Model& model, KVType kv_type, int64_t capacity, int kv_group_size)
    : model_(model),
      kv_type_(kv_type),
      kv_group_size_(kv_group_size),
      capacity_(capacity > 0                                     ? capacity
                : model.text().max_position_embeddings > 0 ? model.text().max_position_embeddings
                                                            : kDefaultCapacity) {
  const TextConfig& c = model.text();
  const TextConfig no_gdn = without_deltanet(c);
  for (int i = 0; i < c.num_hidden_layers; ++i) {
    const bool linear = c.layer_types[i] == LayerType::LinearAttention;
    gdn_.emplace_back(linear ? c : no_gdn);
    kv_.push_back(linear ? KVCache()
                         : KVCache(kv_type, c.num_key_value_heads, c.head_dim, capacity_,
                                   kv_group_size));
  }
  history_.resize(c.num_hidden_layers);
}

size_t Sequence::kv_cache_bytes() const {
  size_t bytes = 0;
  for (const KVCache& k : kv_) bytes += k.bytes();
  return bytes;
}

void Sequence::reset() {
  for (auto& s : gdn_) s.reset();
  for (auto& k : kv_) k.reset();
  rope_delta_ = 0;
  history_valid_ = false;
  cut_to(0);
}

void Sequence::appended(int64_t count, bool kept_states) {
  history_start_ = length_;
  history_valid_ = kept_states;
  length_ += count;
}

void Sequence::cut_to(int64_t length) {
  length_ = length;
  cuts_.push_back(length);
}

}  // namespace tf
