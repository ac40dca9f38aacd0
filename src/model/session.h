// One sequence of a Qwen3.5 model with its own forward pass: the N = 1 case of
// ForwardPass (model/forward_pass.h) over a Sequence (model/sequence.h). Feed a prompt with
// prefill (in batches, grouped expert matmuls), then one token at a time
// with decode; a later prefill continues the same sequence.
//
//   auto model = Model::load(dir, threads);
//   Session session(*model);
//   session.prefill(prompt_ids);                  // logits of the last prompt token
//   std::span<const float> logits = session.decode(next_id);
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "model/forward_pass.h"
#include "model/linear_tap.h"
#include "model/model.h"
#include "model/sequence.h"

namespace tf {

struct SessionOptions {
  // Tokens per forward batch in prefill: bounds activation memory; longer prompts are fed in
  // several batches, which gives the same result.
  int64_t prefill_batch = 256;
  // How quantized weights meet activations (kernels/linear.h): F32 matches the references;
  // Int8 is faster where the CPU has byte dot-product kernels (AVX-512 VNNI, AVX2, AVX-VNNI,
  // NEON sdot: docs/kernels.md) and differs by the activation rounding. Default: Int8 there
  // (default_activation_precision; TIGHTFIT_ACTIVATIONS=f32 turns it off).
  ActivationPrecision precision = default_activation_precision();
  // Element type of the KV cache (kernels/ops_attention.h). F16 (llama.cpp's default) halves
  // the bytes a decode step reads at long context — at 32K tokens of 35B-A3B the cache is 671 MB
  // instead of 1.34 GB — and moves the tiny fixture's logits by ≤ 1.7e-4 relative L2 (the
  // reference gate is 1e-3; BF16: 1.2e-3, over it). F32 is exact.
  KVType kv_type = KVType::F16;
  // Quantized KV types (q8 / q4 / q2): elements of the head dim per scale and bias (MLX's
  // QuantizedKVCache default: 64; a smaller head is one group).
  int kv_group_size = 64;
  // Tokens the sequence can hold (Sequence's capacity; 0: the model's context length).
  int64_t capacity = 0;
  // Optional: called with the input of every linear layer (model/linear_tap.h).
  LinearTapFn linear_tap;
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
  const Model& model() const { return sequence_.model(); }

  // The sequence's state (length, checkpoints, rewind: model/sequence.h).
  Sequence& sequence() { return sequence_; }
  const Sequence& sequence() const { return sequence_; }
  // The forward pass the session runs (hidden states of the last call: forward_pass().hidden).
  ForwardPass& forward_pass() { return pass_; }

  // Shorthands for the sequence's.
  int64_t length() const { return sequence_.length(); }
  int64_t next_position() const { return sequence_.next_position(); }
  void set_rope_delta(int64_t delta) { sequence_.set_rope_delta(delta); }
  int64_t rope_delta() const { return sequence_.rope_delta(); }
  size_t kv_cache_bytes() const { return sequence_.kv_cache_bytes(); }
  void reset() { sequence_.reset(); }
  SequenceCheckpoint checkpoint() const { return sequence_.checkpoint(); }
  bool can_restore(const SequenceCheckpoint& c) const { return sequence_.can_restore(c); }
  void restore(const SequenceCheckpoint& c) { sequence_.restore(c); }
  void extend_with_random_context(int64_t length, uint64_t seed) {
    sequence_.extend_with_random_context(length, seed);
  }

 private:
  // Feeds tokens or embeddings + positions in batches of at most prefill_batch; returns the
  // logits of every row or of the last one.
  std::span<const float> feed(std::span<const int32_t> tokens, std::span<const float> embeddings,
                              std::span<const Position3> positions, bool all_logits);

  SessionOptions options_;
  Sequence sequence_;
  ForwardPass pass_;
  std::vector<float> logits_;  // all rows of a prompt fed in several batches
};

}  // namespace tf
