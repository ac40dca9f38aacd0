#include "model/mtp_head.h"

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <string>

#include "kernels/ops.h"

namespace tf {

namespace {

const MtpWeights& head_of(const Model& model) {
  if (!model.mtp())
    throw std::invalid_argument(
        "the model has no multi-token-prediction head (mtp.* tensors): convert it with "
        "--keep-mtp, or decode without speculation");
  return *model.mtp();
}

}  // namespace

MtpCache::MtpCache(const Model& model, KVType kv_type, int64_t capacity) {
  head_of(model);
  const TextConfig& c = model.text();
  if (capacity <= 0)
    capacity = c.max_position_embeddings > 0 ? c.max_position_embeddings
                                             : Sequence::kDefaultCapacity;
  kv_ = KVCache(kv_type, c.num_key_value_heads, c.head_dim, capacity);
}

void MtpCache::truncate(int64_t rows) {
  if (rows < 0 || rows > kv_.length)
    throw std::logic_error("MtpCache::truncate: " + std::to_string(rows) + " rows of " +
                           std::to_string(kv_.length));
  kv_.resize(rows);
}

MtpHead::MtpHead(const Model& model, ForwardOptions options)
    : model_(model), w_(head_of(model)), options_(std::move(options)) {}

std::span<const float> MtpHead::run(MtpCache& cache, std::span<const int32_t> tokens,
                                    std::span<const float> hidden, int64_t first_position) {
  text_positions_.resize(tokens.size());
  for (size_t t = 0; t < tokens.size(); ++t)
    text_positions_[t] = Position3::text(first_position + static_cast<int64_t>(t));
  return run(cache, tokens, {}, hidden, text_positions_);
}

std::span<const float> MtpHead::run(MtpCache& cache, std::span<const int32_t> tokens,
                                    std::span<const float> embeddings,
                                    std::span<const float> hidden,
                                    std::span<const Position3> positions) {
  const TextConfig& c = model_.text();
  const int64_t H = c.hidden_size, n = static_cast<int64_t>(tokens.size());
  if (static_cast<int64_t>(hidden.size()) != n * H)
    throw std::invalid_argument("MtpHead::run: " + std::to_string(hidden.size()) +
                                " hidden floats for " + std::to_string(n) + " tokens of width " +
                                std::to_string(H));
  if (!embeddings.empty() && static_cast<int64_t>(embeddings.size()) != n * H)
    throw std::invalid_argument("MtpHead::run: " + std::to_string(embeddings.size()) +
                                " embedding floats for " + std::to_string(n) + " rows");
  if (static_cast<int64_t>(positions.size()) != n)
    throw std::invalid_argument("MtpHead::run: one rotary position per row");
  g_.resize(n * H);
  if (n == 0) return g_;
  const Compute compute{model_.pool(), options_.precision, &matmul_scratch_};
  const float eps = c.rms_norm_eps;

  // u = fc · [RMSNorm_e(E[x]) ; RMSNorm_h(h)] (§3 step 2).
  const float* embedded = embeddings.data();
  if (embeddings.empty()) {
    embedded_.resize(n * H);
    model_.embed(tokens, embedded_.data());
    embedded = embedded_.data();
  }
  concat_.resize(n * 2 * H);
  for (int64_t t = 0; t < n; ++t) {
    rms_norm(embedded + t * H, w_.pre_fc_norm_embedding.data(), H, eps,
             concat_.data() + t * 2 * H);
    rms_norm(hidden.data() + t * H, w_.pre_fc_norm_hidden.data(), H, eps,
             concat_.data() + t * 2 * H + H);
  }
  residual_.resize(n * H);
  compute.matmul(w_.fc, concat_.data(), n, residual_.data());

  // One decoder layer (§3 step 3), as ForwardPass runs a main full-attention layer.
  normed_.resize(n * H);
  branch_.resize(n * H);
  auto norm_rows = [&](const std::vector<float>& weight, float* out) {
    for (int64_t t = 0; t < n; ++t)
      rms_norm(residual_.data() + t * H, weight.data(), H, eps, out + t * H);
  };
  auto add_branch = [&] {
    for (int64_t i = 0; i < n * H; ++i) residual_[i] += branch_[i];
  };
  const LayerWeights& lw = w_.layer;
  norm_rows(lw.input_norm, normed_.data());
  const GatedAttentionRows rows[] = {{0, n, &cache.kv_}};
  gated_attention_forward(lw.attn, c, model_.rope(), normed_.data(), n, positions.data(), rows,
                          branch_.data(), attn_scratch_, compute);
  add_branch();
  norm_rows(lw.post_norm, normed_.data());
  if (lw.is_moe)
    moe_forward(lw.moe, c, normed_.data(), n, branch_.data(), moe_scratch_, compute);
  else
    swiglu_forward(lw.mlp, normed_.data(), n, branch_.data(), moe_scratch_.swiglu, compute);
  add_branch();

  // g = mtp.norm(b) (§3 step 4): the vector both scored and fed back in recursion.
  norm_rows(w_.norm, g_.data());
  return g_;
}

std::span<const float> MtpHead::logits(std::span<const float> g, int64_t rows) {
  const int64_t H = model_.hidden_size(), V = model_.vocab_size();
  if (static_cast<int64_t>(g.size()) < rows * H)
    throw std::invalid_argument("MtpHead::logits: fewer than " + std::to_string(rows) + " rows");
  const Compute compute{model_.pool(), options_.precision, &matmul_scratch_};
  logits_.resize(rows * V);
  if (!vocabulary_) {
    compute.matmul(model_.weights().lm_head, g.data(), rows, logits_.data());
    return logits_;
  }
  // Reduced draft vocabulary: only its rows of the head are read (the head dominates a draft
  // step's cost, §5), then scattered into full rows so sampling sees ordinary logits.
  const int64_t N = vocabulary_->size();
  reduced_.resize(rows * N);
  compute.matmul(vocabulary_->head(), g.data(), rows, reduced_.data());
  std::fill(logits_.begin(), logits_.end(), -std::numeric_limits<float>::infinity());
  const std::vector<int32_t>& ids = vocabulary_->ids();
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < N; ++j) logits_[r * V + ids[j]] = reduced_[r * N + j];
  return logits_;
}

}  // namespace tf
