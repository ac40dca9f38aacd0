// The state of one sequence of a Qwen3.5 model (spec §3.3): a KV cache per full-attention layer
// and the conv + recurrent state per Gated DeltaNet layer, its length and rope delta. A
// Sequence is only state; ForwardPass (model/forward_pass.h) appends tokens to one or several
// sequences at once, Session (model/session.h) is one sequence with its own forward pass.
//
// State you can return to:
//  - checkpoint / restore / fork (sequence_checkpoint.cpp): a snapshot at the current length
//    costs one copy of the DeltaNet states; KV caches are cut back, not copied.
//  - rewind (sequence_rewind.cpp): after a forward batch fed with keep_states, the state after
//    any prefix of that batch, without re-running it (speculative decoding keeps the accepted
//    drafts).
#pragma once

#include <cstdint>
#include <vector>

#include "model/gated_attention_kv_cache.h"
#include "model/gated_deltanet.h"
#include "model/model.h"

namespace tf {

// A sequence's state at one length, to return to later (Sequence::checkpoint / restore /
// fork). Only valid for the sequence that made it, which it knows by address (a moved
// sequence does not recognise its checkpoints); see Sequence::can_restore.
struct SequenceCheckpoint {
  int64_t length = -1;  // -1: empty (never taken)
  int64_t rope_delta = 0;
  std::vector<GatedDeltaNetState> gdn;  // conv + recurrent state of every layer
  const void* owner = nullptr;          // the sequence it was taken from
  size_t cut_count = 0;                 // the owner's cut history when taken
};

// A sequence's whole state at one length, copied out so that any sequence of the same model
// and KV type can take it (Sequence::snapshot / load_snapshot): a prompt cache keeps these,
// independent of the slot they came from. Costs the DeltaNet states plus the KV rows.
struct SequenceSnapshot {
  int64_t length = 0;
  int64_t rope_delta = 0;
  KVType kv_type = KVType::F16;
  std::vector<GatedDeltaNetState> gdn;  // every layer's conv + recurrent state
  // Per layer: for each kv head its `length` key rows, then for each head its value rows
  // (empty for linear-attention layers).
  std::vector<std::vector<uint8_t>> kv;

  size_t bytes() const;  // memory held
};

class Sequence {
 public:
  // An empty sequence of `model` whose KV caches store `kv_type` and hold up to `capacity`
  // tokens (0: the model's max_position_embeddings, or kDefaultCapacity when the config has
  // none). The caches reserve that capacity as address space now and take memory as they fill
  // (model/gated_attention_kv_cache.h); going past it throws std::length_error.
  // Quantized KV types group `kv_group_size` elements of the head dim per scale and bias.
  Sequence(const Model& model, KVType kv_type, int64_t capacity = 0, int kv_group_size = 64);
  static constexpr int64_t kDefaultCapacity = 262144;

  const Model& model() const { return model_; }
  KVType kv_type() const { return kv_type_; }
  int kv_group_size() const { return kv_group_size_; }
  int64_t capacity() const { return capacity_; }

  // Tokens in the sequence so far (= index of the next token).
  int64_t length() const { return length_; }
  // Rotary position a text token appended now receives on every axis: length + rope delta.
  int64_t next_position() const { return length_ + rope_delta_; }
  // After an image the next text positions are shifted (spec §4.8); text-only: 0.
  void set_rope_delta(int64_t delta) { rope_delta_ = delta; }
  int64_t rope_delta() const { return rope_delta_; }

  // Bytes the KV caches of all attention layers hold now (length × row × type size).
  size_t kv_cache_bytes() const;

  // Empties the sequence (state zeroed, caches cleared, rope delta 0).
  void reset();

  // Checkpoints (sequence_checkpoint.cpp). The Gated DeltaNet state cannot be rolled back token
  // by token, so a checkpoint copies every layer's conv + recurrent state (about 2 MB per
  // DeltaNet layer at 35B-A3B shapes); KV caches are not copied: restore cuts them back to the
  // checkpoint's length. A chat uses this to continue from the last point its re-rendered
  // history shares with what was processed (spec §7.2 drops earlier turns' reasoning).
  SequenceCheckpoint checkpoint() const;
  // True when `checkpoint` came from this sequence and its prefix is still intact: the sequence
  // is at least as long and was never cut (reset / restore / rewind) below the checkpoint's
  // length.
  bool can_restore(const SequenceCheckpoint& checkpoint) const;
  // Returns the sequence to the checkpoint's length and state. Throws std::logic_error when
  // !can_restore(checkpoint). Tokens appended after restoring overwrite the cut-off ones.
  void restore(const SequenceCheckpoint& checkpoint);
  // A new sequence holding this one's state at the checkpoint (its KV rows up to the
  // checkpoint's length copied): several continuations of one shared prompt. Throws
  // std::logic_error when !can_restore(checkpoint). This sequence is unchanged.
  Sequence fork(const SequenceCheckpoint& checkpoint) const;

  // Slot-independent copies (sequence_snapshot.cpp). load_snapshot replaces this sequence's
  // state by the snapshot's; throws std::invalid_argument when it comes from a sequence of
  // another KV type or layer layout, std::length_error when it is longer than the capacity.
  SequenceSnapshot snapshot() const;
  void load_snapshot(const SequenceSnapshot& snapshot);
  // snapshot() into `out`, reusing its buffers (a snapshot of this model that is no longer
  // needed, e.g. one the prompt cache evicted): one copy of the state and no fresh pages to
  // fault in, where a new snapshot costs several times that (bench --snapshot).
  void snapshot_into(SequenceSnapshot& out) const;

  // Speculative decoding (sequence_rewind.cpp): after a forward batch that fed this sequence
  // with keep_states, returns it to `length` (rewind_floor() ≤ length ≤ length()) — the state
  // after that prefix of the batch — by cutting the KV caches and re-running the DeltaNet
  // recurrence of the kept tokens from the state recorded before the batch (on the model's
  // pool; no projection or attention is re-run). Rewinding again to a shorter length of the
  // same batch is allowed until the next forward, reset or restore. Throws std::logic_error
  // outside that range.
  void rewind(int64_t length);
  // The shortest length rewind accepts now (= length() when there is nothing to rewind).
  int64_t rewind_floor() const;

  // Benchmarks (`tightfit bench`, sequence_synthetic.cpp): makes the sequence `length` tokens
  // long without running the model, so decode speed at a long context takes seconds to measure
  // instead of a prefill of that many tokens. Each attention layer's KV cache is filled up to
  // `length` with random rows (keys and values of unit RMS, like normed keys, stored in the
  // sequence's KV type); DeltaNet states are left as they are (their size does not depend on
  // the length). Decode then does exactly the work it would at that length; its logits are
  // meaningless. No-op when already as long.
  void extend_with_random_context(int64_t length, uint64_t seed);

 private:
  friend class ForwardPass;  // appends tokens: the layers write kv_ / gdn_ / history_

  // Called by ForwardPass once a batch of `count` tokens was appended; `kept_states` when it
  // recorded the DeltaNet history (rewind possible), else any older history is dropped.
  void appended(int64_t count, bool kept_states);
  void cut_to(int64_t length);  // sets the length and records the cut (checkpoint validity)

  const Model& model_;
  KVType kv_type_;
  int kv_group_size_;
  int64_t capacity_;
  int64_t length_ = 0;
  int64_t rope_delta_ = 0;
  std::vector<GatedDeltaNetState> gdn_;      // per layer (empty state for attention layers)
  std::vector<KVCache> kv_;                  // per layer (unused for linear-attention layers)
  std::vector<GatedDeltaNetHistory> history_;  // per layer: the last keep_states batch
  int64_t history_start_ = 0;                // length before that batch
  bool history_valid_ = false;
  // Length the sequence was cut back to by each reset / restore / rewind, in order.
  std::vector<int64_t> cuts_;
};

}  // namespace tf
