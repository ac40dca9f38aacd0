// Sequence snapshots: the state at the current length copied out whole (declared in
// sequence.h). Unlike a checkpoint, which cuts its own sequence's KV caches back and so only
// serves that sequence, a snapshot carries its KV rows and can be loaded into any sequence of
// the same model: the engine's prompt cache restores a saved prefix into whichever slot is free.
#include <algorithm>
#include <stdexcept>
#include <string>

#include "model/sequence.h"

namespace tf {

size_t SequenceSnapshot::bytes() const {
  size_t total = 0;
  for (const GatedDeltaNetState& s : gdn)
    total += (s.conv.size() + s.recurrent.size()) * sizeof(float);
  for (const std::vector<uint8_t>& rows : kv) total += rows.size();
  return total;
}

SequenceSnapshot Sequence::snapshot() const {
  SequenceSnapshot s;
  snapshot_into(s);
  return s;
}

void Sequence::snapshot_into(SequenceSnapshot& s) const {
  s.length = length_;
  s.rope_delta = rope_delta_;
  s.kv_type = kv_type_;
  // Vector copy-assignment reuses the destination's capacity where it suffices.
  if (s.gdn.size() == gdn_.size()) {
    for (size_t i = 0; i < gdn_.size(); ++i) {
      s.gdn[i].conv = gdn_[i].conv;
      s.gdn[i].recurrent = gdn_[i].recurrent;
    }
  } else {
    s.gdn = gdn_;
  }
  s.kv.resize(kv_.size());
  for (size_t i = 0; i < kv_.size(); ++i) {
    const KVCache& cache = kv_[i];
    if (cache.heads == 0) {
      s.kv[i].clear();
      continue;
    }
    const size_t head_bytes = static_cast<size_t>(length_) * cache.head_row_bytes();
    std::vector<uint8_t>& out = s.kv[i];
    out.resize(2 * static_cast<size_t>(cache.heads) * head_bytes);
    uint8_t* to = out.data();
    for (int64_t g = 0; g < cache.heads; ++g, to += head_bytes)
      std::copy_n(cache.keys(g), head_bytes, to);
    for (int64_t g = 0; g < cache.heads; ++g, to += head_bytes)
      std::copy_n(cache.values(g), head_bytes, to);
  }
}

void Sequence::load_snapshot(const SequenceSnapshot& s) {
  if (s.kv_type != kv_type_ || s.kv.size() != kv_.size() || s.gdn.size() != gdn_.size())
    throw std::invalid_argument("Sequence::load_snapshot: the snapshot comes from a sequence of "
                                "another KV type or model");
  if (s.length > capacity_)
    throw std::length_error("Sequence::load_snapshot: " + std::to_string(s.length) +
                            " tokens, more than the capacity of " + std::to_string(capacity_));
  for (size_t i = 0; i < kv_.size(); ++i) {
    KVCache& cache = kv_[i];
    if (cache.heads == 0) continue;
    const size_t head_bytes = static_cast<size_t>(s.length) * cache.head_row_bytes();
    if (s.kv[i].size() != 2 * static_cast<size_t>(cache.heads) * head_bytes)
      throw std::invalid_argument("Sequence::load_snapshot: KV rows of layer " +
                                  std::to_string(i) + " do not match this sequence's layout");
  }
  for (size_t i = 0; i < gdn_.size(); ++i) {
    if (s.gdn[i].conv.size() != gdn_[i].conv.size() ||
        s.gdn[i].recurrent.size() != gdn_[i].recurrent.size())
      throw std::invalid_argument("Sequence::load_snapshot: DeltaNet state of layer " +
                                  std::to_string(i) + " does not match this sequence's layout");
    gdn_[i].conv = s.gdn[i].conv;  // same sizes: copy-assignment reuses the buffers
    gdn_[i].recurrent = s.gdn[i].recurrent;
  }
  for (size_t i = 0; i < kv_.size(); ++i) {
    KVCache& cache = kv_[i];
    if (cache.heads == 0) continue;
    cache.resize(s.length);
    const size_t head_bytes = static_cast<size_t>(s.length) * cache.head_row_bytes();
    const uint8_t* from = s.kv[i].data();
    for (int64_t g = 0; g < cache.heads; ++g, from += head_bytes)
      std::copy_n(from, head_bytes, cache.keys(g));
    for (int64_t g = 0; g < cache.heads; ++g, from += head_bytes)
      std::copy_n(from, head_bytes, cache.values(g));
  }
  rope_delta_ = s.rope_delta;
  history_valid_ = false;
  // Every earlier checkpoint of this sequence is void: its rows may differ from the loaded ones.
  cut_to(0);
  length_ = s.length;
}

}  // namespace tf
