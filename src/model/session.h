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
#include "model/model.h"
#include "model/moe.h"
#include "model/rope.h"

namespace tf {

struct SessionOptions {
  // Tokens per forward batch in prefill: bounds activation memory; longer prompts are fed in
  // several batches, which gives the same result.
  int64_t prefill_batch = 256;
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

  // Tokens in the sequence so far (= index of the next token).
  int64_t length() const { return length_; }
  // Rotary position a text token appended now receives on every axis: length + rope delta.
  int64_t next_position() const { return length_ + rope_delta_; }
  // After an image the next text positions are shifted (spec §4.8); text-only: 0.
  void set_rope_delta(int64_t delta) { rope_delta_ = delta; }
  int64_t rope_delta() const { return rope_delta_; }

  // Empties the sequence (state zeroed, caches cleared, rope delta 0).
  void reset();

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

  // Reused buffers.
  std::vector<float> logits_, embeddings_, hidden_, normed_, branch_;
  std::vector<Position3> positions_;
  GatedDeltaNetScratch gdn_scratch_;
  GatedAttentionScratch attn_scratch_;
  MoeScratch moe_scratch_;
};

}  // namespace tf
