// Session checkpoints: snapshot the per-sequence state at the current length and come back to
// it later (declared in session.h).
//
// What a sequence's state is (spec §3.3): per full-attention layer a KV cache holding one row
// per token, per Gated DeltaNet layer a fixed-size conv window and recurrent matrix that fold in
// every token so far. KV rows of the first L tokens never change once written, so cutting the
// cache back to L rows is exact; the DeltaNet state has no such prefix structure, so it is
// copied whole.
#include <algorithm>
#include <stdexcept>
#include <string>

#include "model/session.h"

namespace tf {

SessionCheckpoint Session::checkpoint() const {
  SessionCheckpoint c;
  c.length = length_;
  c.rope_delta = rope_delta_;
  c.gdn = gdn_;
  c.owner = this;
  c.cut_count = cuts_.size();
  return c;
}

bool Session::can_restore(const SessionCheckpoint& c) const {
  if (c.owner != this || c.length < 0 || c.length > length_) return false;
  if (c.cut_count > cuts_.size()) return false;
  // Any cut since the checkpoint to a shorter length overwrote (or will overwrite) KV rows the
  // checkpoint relies on.
  return std::all_of(cuts_.begin() + static_cast<std::ptrdiff_t>(c.cut_count), cuts_.end(),
                     [&](int64_t cut) { return cut >= c.length; });
}

void Session::restore(const SessionCheckpoint& c) {
  if (!can_restore(c))
    throw std::logic_error("Session::restore: checkpoint at length " + std::to_string(c.length) +
                           " is not from this session's current sequence (length " +
                           std::to_string(length_) + ")");
  for (size_t i = 0; i < gdn_.size(); ++i) {
    gdn_[i].conv = c.gdn[i].conv;  // same sizes: copy-assignment reuses the buffers
    gdn_[i].recurrent = c.gdn[i].recurrent;
  }
  for (KVCache& kv : kv_) {
    if (kv.length == 0) continue;
    kv.resize(c.length);
  }
  length_ = c.length;
  rope_delta_ = c.rope_delta;
  cuts_.push_back(c.length);
}

}  // namespace tf
