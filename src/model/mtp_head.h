// The forward pass of the MTP head (docs/model.md §10.3): row t combines the main model's
// final hidden state h_t (after its final norm, §4) with the token x_{t+1} that follows t and
// yields g_t, whose logits under the main model's head predict x_{t+2}:
//
//   u = fc · [RMSNorm(E[x_{t+1}]) ; RMSNorm(h_t)]          embedding first (trap 2)
//   g = mtp.norm( MoE-block( attention-block(u) ) )         one full-attention layer
//   draft logits = lm_head · g
//
// Recursive drafting feeds g back as the next row's "hidden" with the token just drafted, at
// the next position (§3 "Recursion"). The layer attends over its own KV cache (MtpCache, one
// per sequence), which the caller truncates to drop rows it no longer wants (rejected or
// recursive drafts, §5 step 5, trap 9).
//
// Optionally the draft logits cover only a reduced draft vocabulary (model/draft_vocabulary.h):
// the output head is then a gathered copy of those rows, and logits outside the list are −inf.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "model/compute.h"
#include "model/draft_vocabulary.h"
#include "model/forward_pass.h"
#include "model/gated_attention.h"
#include "model/model.h"
#include "model/moe.h"

namespace tf {

// The head's state for one sequence: its one-layer KV cache. Rows carry explicit rotary
// positions, so the cache may start anywhere in the sequence (a chat that reuses a prefix the
// head never saw only drafts from less context).
class MtpCache {
 public:
  // Throws std::invalid_argument when the model has no MTP head.
  MtpCache(const Model& model, KVType kv_type, int64_t capacity);

  int64_t rows() const { return kv_.length; }
  // Keeps the first `rows` rows (≤ rows()).
  void truncate(int64_t rows);
  void reset() { kv_.reset(); }

 private:
  friend class MtpHead;
  KVCache kv_;
};

class MtpHead {
 public:
  // Throws std::invalid_argument when the model has no MTP head.
  MtpHead(const Model& model, ForwardOptions options);

  // Appends tokens.size() rows to `cache`: row i from (tokens[i], hidden[i]) at rotary
  // position first_position + i (text positions). Returns g, [rows][hidden]; valid until the
  // next call.
  std::span<const float> run(MtpCache& cache, std::span<const int32_t> tokens,
                             std::span<const float> hidden, int64_t first_position);
  // The same with the rows' inputs given as they reach the main model: `embeddings`
  // ([rows][hidden]; empty: E[tokens]) and one rotary position per row. A multimodal prompt's
  // rows take the embeddings with image features spliced in and the main model's 3-D
  // positions, as vLLM's Qwen3.5 MTP drafter does (`Qwen3_5MTP.embed_input_ids` merges the
  // image features; its positions are M-RoPE triples, docs/engine.md "Speculative decoding").
  std::span<const float> run(MtpCache& cache, std::span<const int32_t> tokens,
                             std::span<const float> embeddings, std::span<const float> hidden,
                             std::span<const Position3> positions);

  // Draft logits [rows][vocab] of `rows` rows of g (an output of run). Over the draft
  // vocabulary when one is set (−inf elsewhere). Valid until the next call.
  std::span<const float> logits(std::span<const float> g, int64_t rows);

  // Restricts the draft logits to `vocabulary` (nullptr: the full vocabulary). It must
  // outlive its use here.
  void set_draft_vocabulary(const DraftVocabulary* vocabulary) { vocabulary_ = vocabulary; }
  const DraftVocabulary* draft_vocabulary() const { return vocabulary_; }

  const Model& model() const { return model_; }

 private:
  const Model& model_;
  const MtpWeights& w_;
  ForwardOptions options_;
  const DraftVocabulary* vocabulary_ = nullptr;
  std::vector<float> embedded_, concat_, residual_, normed_, branch_, g_, logits_, reduced_;
  MatmulScratch matmul_scratch_;
  std::vector<Position3> text_positions_;
  GatedAttentionScratch attn_scratch_;
  MoeScratch moe_scratch_;
};

}  // namespace tf
