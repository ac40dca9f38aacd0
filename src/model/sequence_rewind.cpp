// Sequence::rewind (declared in sequence.h): the state after any prefix of the last batch fed
// with keep_states, for speculative decoding (feed k draft tokens, read all k logits, keep the
// accepted m).
//
// KV caches roll back by truncation; the DeltaNet recurrent state and conv window do not, so
// the forward pass recorded the state before the batch and each token's delta-rule inputs
// (GatedDeltaNetHistory): the kept prefix's recurrence is re-run from there on the model's pool.
#include <stdexcept>
#include <string>

#include "model/compute.h"
#include "model/model.h"
#include "model/sequence.h"

namespace tf {

int64_t Sequence::rewind_floor() const { return history_valid_ ? history_start_ : length_; }

void Sequence::rewind(int64_t length) {
  if (length == length_) return;
  if (length < rewind_floor() || length > length_)
    throw std::logic_error("Sequence::rewind: length " + std::to_string(length) +
                           " is outside [" + std::to_string(rewind_floor()) + ", " +
                           std::to_string(length_) + "], the prefixes of the last batch fed with "
                           "keep_states");
  const int64_t kept = length - history_start_;
  const Compute compute{model_.pool()};
  for (size_t i = 0; i < gdn_.size(); ++i)
    if (history_[i].tokens > 0) history_[i].restore(kept, gdn_[i], model_.text(), compute);
  for (KVCache& kv : kv_)
    if (kv.heads > 0) kv.resize(length);
  cut_to(length);
}

}  // namespace tf
