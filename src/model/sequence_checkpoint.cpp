// Sequence checkpoints: snapshot the per-sequence state at the current length and come back to
// it later, or start a second sequence from it (declared in sequence.h).
//
// What a sequence's state is (spec §3.3): per full-attention layer a KV cache holding one row
// per token, per Gated DeltaNet layer a fixed-size conv window and recurrent matrix that fold in
// every token so far. KV rows of the first L tokens never change once written, so cutting the
// cache back to L rows is exact; the DeltaNet state has no such prefix structure, so it is
// copied whole.
#include <algorithm>
#include <stdexcept>
#include <string>

#include "model/sequence.h"

namespace tf {

SequenceCheckpoint Sequence::checkpoint() const {
  SequenceCheckpoint c;
  c.length = length_;
  c.rope_delta = rope_delta_;
  c.gdn = gdn_;
  c.owner = this;
  c.cut_count = cuts_.size();
  return c;
}

bool Sequence::can_restore(const SequenceCheckpoint& c) const {
  if (c.owner != this || c.length < 0 || c.length > length_) return false;
  if (c.cut_count > cuts_.size()) return false;
  // Any cut since the checkpoint to a shorter length overwrote (or will overwrite) KV rows the
  // checkpoint relies on.
  return std::all_of(cuts_.begin() + static_cast<std::ptrdiff_t>(c.cut_count), cuts_.end(),
                     [&](int64_t cut) { return cut >= c.length; });
}

namespace {

[[noreturn]] void refuse(const char* what, const SequenceCheckpoint& c, int64_t length) {
  throw std::logic_error(std::string(what) + ": checkpoint at length " + std::to_string(c.length) +
                         " is not from this sequence's current tokens (length " +
                         std::to_string(length) + ")");
}

}  // namespace

void Sequence::restore(const SequenceCheckpoint& c) {
  if (!can_restore(c)) refuse("Sequence::restore", c, length_);
  for (size_t i = 0; i < gdn_.size(); ++i) {
    gdn_[i].conv = c.gdn[i].conv;  // same sizes: copy-assignment reuses the buffers
    gdn_[i].recurrent = c.gdn[i].recurrent;
  }
  for (KVCache& kv : kv_) {
    if (kv.length == 0) continue;
    kv.resize(c.length);
  }
  rope_delta_ = c.rope_delta;
  history_valid_ = false;  // the states recorded for rewind are not the checkpoint's
  cut_to(c.length);
}

Sequence Sequence::fork(const SequenceCheckpoint& c) const {
  if (!can_restore(c)) refuse("Sequence::fork", c, length_);
  Sequence f(model_, kv_type_, capacity_, kv_group_size_);
  f.gdn_ = c.gdn;
  for (size_t i = 0; i < kv_.size(); ++i) {
    const KVCache& from = kv_[i];
    KVCache& to = f.kv_[i];
    if (from.heads == 0) continue;
    to.resize(c.length);
    const size_t bytes = static_cast<size_t>(c.length) * from.head_row_bytes();
    for (int64_t g = 0; g < from.heads; ++g) {
      std::copy_n(from.keys(g), bytes, to.keys(g));
      std::copy_n(from.values(g), bytes, to.values(g));
    }
  }
  f.length_ = c.length;
  f.rope_delta_ = c.rope_delta;
  return f;
}

}  // namespace tf
