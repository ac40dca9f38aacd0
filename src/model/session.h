// The per-sequence state of a Qwen3.5 model and the forward pass over it (spec §3.3): a KV
// cache per full-attention layer, conv + recurrent state per Gated DeltaNet layer. Feed a
// prompt with prefill (in batches, chunked delta rule, grouped expert matmuls), then one token
// at a time with decode; a later prefill continues the same sequence.
//
//   auto model = Model::load(dir, threads);
//   Session session(*model);
//   session.prefill(prompt_ids);                  // logits of the last prompt token
//   std::span<const float> logits = session.decode(next_id);
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "model/gated_attention.h"
#include "model/gated_deltanet.h"
#include "model/linear_tap.h"
#include "model/model.h"
#include "model/moe.h"
#include "model/rope.h"

namespace tf {

struct SessionOptions {
  // Tokens per forward batch in prefill: bounds activation memory; longer prompts are fed in
  // several batches, which gives the same result.
  int64_t prefill_batch = 256;
  // How quantized weights meet activations (kernels/linear.h): F32 matches the references;
  // Int8 is faster on CPUs with VNNI and differs by the activation rounding. Default: Int8
  // where VNNI is present (default_activation_precision; TIGHTFIT_ACTIVATIONS=f32 turns it off).
  ActivationPrecision precision = default_activation_precision();
  // Element type of the KV cache (kernels/ops_attention.h). F16 (llama.cpp's default) halves
  // the bytes a decode step reads at long context — at 32K tokens of 35B-A3B the cache is 671 MB
  // instead of 1.34 GB — and moves the tiny fixture's logits by ≤ 1.7e-4 relative L2 (the
  // reference gate is 1e-3; BF16: 1.2e-3, over it). F32 is exact.
  KVType kv_type = KVType::F16;
  // Optional: called with the input of every linear layer (model/linear_tap.h).
  LinearTapFn linear_tap;
};

// The per-sequence state at one length, to return to later (Session::checkpoint / restore).
// Only valid for the session that made it; see Session::can_restore.
struct SessionCheckpoint {
  int64_t length = -1;  // -1: empty (never taken)
  int64_t rope_delta = 0;
  std::vector<GatedDeltaNetState> gdn;  // conv + recurrent state of every layer
  const void* owner = nullptr;          // the session it was taken from
  size_t cut_count = 0;                 // the owner's cut history when taken
};

class Session {
 public:
  explicit Session(const Model& model, SessionOptions options = {});

  // Appends `tokens` to the sequence. Returns the logits of the last token ([vocab]), or of
  // every token ([tokens.size()][vocab], row-major) when all_logits. The span stays valid
  // until the next call on this session. An empty input returns an empty span.
  std::span<const float> prefill(std::span<const int32_t> tokens, bool all_logits = false);

  // Same from ready-made input embeddings ([count][hidden], e.g. text embeddings with image
  // features spliced in) and explicit rotary positions, one per embedding (spec §4.8).
  std::span<const float> prefill_embeddings(std::span<const float> embeddings,
                                            std::span<const Position3> positions,
                                            bool all_logits = false);

  // Appends one token and returns its logits ([vocab]).
  std::span<const float> decode(int32_t token);

  const SessionOptions& options() const { return options_; }

  // Bytes the KV caches of all attention layers hold now (length × row × type size).
  size_t kv_cache_bytes() const;

  // Tokens in the sequence so far (= index of the next token).
  int64_t length() const { return length_; }
  // Rotary position a text token appended now receives on every axis: length + rope delta.
  int64_t next_position() const { return length_ + rope_delta_; }
  // After an image the next text positions are shifted (spec §4.8); text-only: 0.
  void set_rope_delta(int64_t delta) { rope_delta_ = delta; }
  int64_t rope_delta() const { return rope_delta_; }

  // Empties the sequence (state zeroed, caches cleared, rope delta 0).
  void reset();

  // Checkpoints (session_checkpoint.cpp). The Gated DeltaNet state cannot be rolled back token
  // by token, so a checkpoint copies every layer's conv + recurrent state (about 2 MB per
  // DeltaNet layer at 35B-A3B shapes); KV caches are not copied: restore cuts them back to the
  // checkpoint's length. A chat uses this to continue from the last point its re-rendered
  // history shares with what was processed (spec §7.2 drops earlier turns' reasoning).
  SessionCheckpoint checkpoint() const;
  // True when `checkpoint` came from this session and its prefix is still intact: the sequence
  // is at least as long and was never cut (reset / restore) below the checkpoint's length.
  bool can_restore(const SessionCheckpoint& checkpoint) const;
  // Returns the sequence to the checkpoint's length and state. Throws std::logic_error when
  // !can_restore(checkpoint). Tokens appended after restoring overwrite the cut-off ones.
  void restore(const SessionCheckpoint& checkpoint);

  // Benchmarks (`tightfit bench`, session_synthetic.cpp): makes the sequence `length` tokens
  // long without running the model, so decode speed at a long context takes seconds to measure
  // instead of a prefill of that many tokens. Each attention layer's KV cache is filled up to
  // `length` with random rows (keys and values of unit RMS, like normed keys, stored in the
  // session's KV type); DeltaNet states
  // are left as they are (their size does not depend on the length). Decode then does exactly
  // the work it would at that length; its logits are meaningless. No-op when already as long.
  void extend_with_random_context(int64_t length, uint64_t seed);

  const Model& model() const { return model_; }

 private:
  // One forward batch of `count` embeddings; writes logits for every row when all_rows (to
  // logits_out + row·vocab), else only for the last row (to logits_out).
  void forward(const float* embeddings, int64_t count, const Position3* positions,
               bool all_rows, float* logits_out);

  const Model& model_;
  SessionOptions options_;
  int64_t length_ = 0;
  int64_t rope_delta_ = 0;
  std::vector<GatedDeltaNetState> gdn_;  // per layer (empty state for attention layers)
  std::vector<KVCache> kv_;              // per layer (unused for linear-attention layers)
  // Length the sequence was cut back to by each reset / restore, in order (checkpoint validity).
  std::vector<int64_t> cuts_;

  // Reused buffers.
  std::vector<float> logits_, embeddings_, hidden_, normed_, branch_;
  std::vector<Position3> positions_;
  GatedDeltaNetScratch gdn_scratch_;
  GatedAttentionScratch attn_scratch_;
  MoeScratch moe_scratch_;
};

}  // namespace tf
