#include "model/session.h"

#include <algorithm>
#include <stdexcept>

#include "kernels/linear.h"
#include "kernels/ops.h"

namespace tf {

Session::Session(const Model& model, SessionOptions options)
    : model_(model), options_(options) {
  if (options_.prefill_batch <= 0) throw std::invalid_argument("prefill_batch must be positive");
  const TextConfig& c = model.text();
  TextConfig no_gdn = c;  // attention layers keep an empty GDN state
  no_gdn.linear_num_key_heads = no_gdn.linear_num_value_heads = 0;
  no_gdn.linear_key_head_dim = no_gdn.linear_value_head_dim = 0;
  no_gdn.linear_conv_kernel_dim = 1;
  for (int i = 0; i < c.num_hidden_layers; ++i)
    gdn_.emplace_back(c.layer_types[i] == LayerType::LinearAttention ? c : no_gdn);
  for (int i = 0; i < c.num_hidden_layers; ++i)
    kv_.push_back(c.layer_types[i] == LayerType::FullAttention
                      ? KVCache(options_.kv_type, c.num_key_value_heads, c.head_dim)
                      : KVCache());
}

size_t Session::kv_cache_bytes() const {
  size_t bytes = 0;
  for (const KVCache& k : kv_) bytes += k.bytes();
  return bytes;
}

void Session::reset() {
  for (auto& s : gdn_) s.reset();
  for (auto& k : kv_) k.reset();
  length_ = 0;
  rope_delta_ = 0;
  cuts_.push_back(0);
}

std::span<const float> Session::prefill(std::span<const int32_t> tokens, bool all_logits) {
  const int64_t H = model_.hidden_size();
  const int64_t T = static_cast<int64_t>(tokens.size());
  embeddings_.resize(T * H);
  model_.embed(tokens, embeddings_.data());  // validates ids before any state changes
  positions_.resize(T);
  for (int64_t t = 0; t < T; ++t) positions_[t] = Position3::text(next_position() + t);
  return prefill_embeddings(embeddings_, positions_, all_logits);
}

std::span<const float> Session::prefill_embeddings(std::span<const float> embeddings,
                                                   std::span<const Position3> positions,
                                                   bool all_logits) {
  const int64_t H = model_.hidden_size(), V = model_.vocab_size();
  const int64_t T = static_cast<int64_t>(positions.size());
  if (static_cast<int64_t>(embeddings.size()) != T * H)
    throw std::invalid_argument("prefill_embeddings: " + std::to_string(embeddings.size()) +
                                " floats for " + std::to_string(T) + " positions of width " +
                                std::to_string(H));
  if (T == 0) return {};
  logits_.resize((all_logits ? T : 1) * V);
  for (int64_t t0 = 0; t0 < T; t0 += options_.prefill_batch) {
    const int64_t n = std::min(options_.prefill_batch, T - t0);
    const bool last_batch = t0 + n == T;
    // Logits are only computed where needed: every row when asked, else the final token.
    if (all_logits)
      forward(embeddings.data() + t0 * H, n, positions.data() + t0, true, logits_.data() + t0 * V);
    else
      forward(embeddings.data() + t0 * H, n, positions.data() + t0, false,
              last_batch ? logits_.data() : nullptr);
  }
  return logits_;
}

std::span<const float> Session::decode(int32_t token) {
  return prefill(std::span<const int32_t>(&token, 1), false);
}

void Session::forward(const float* embeddings, int64_t T, const Position3* positions,
                      bool all_rows, float* logits_out) {
  const Model& m = model_;
  const TextConfig& c = m.text();
  const Qwen35Weights& w = m.weights();
  const Compute compute{m.pool(), options_.precision};
  const int64_t H = c.hidden_size;

  hidden_.assign(embeddings, embeddings + T * H);
  normed_.resize(T * H);
  branch_.resize(T * H);
  auto norm_rows = [&](const std::vector<float>& weight) {
    for (int64_t t = 0; t < T; ++t)
      rms_norm(hidden_.data() + t * H, weight.data(), H, c.rms_norm_eps, normed_.data() + t * H);
  };
  auto add_branch = [&] {
    for (int64_t i = 0; i < T * H; ++i) hidden_[i] += branch_[i];
  };

  // Decoder layer (spec §3.3): h += Mixer(norm_in(h)); h += FFN(norm_post(h)).
  LinearTap tap{&options_.linear_tap};
  const LinearTap* tap_or_null = options_.linear_tap ? &tap : nullptr;
  for (int i = 0; i < c.num_hidden_layers; ++i) {
    const LayerWeights& lw = w.layers[i];
    if (tap_or_null) {
      tap.layer = i;
      tap.prefix = "language_model.model.layers." + std::to_string(i) + ".";
    }
    norm_rows(lw.input_norm);
    if (lw.type == LayerType::LinearAttention)
      gated_deltanet_forward(lw.gdn, c, normed_.data(), T, gdn_[i], branch_.data(), gdn_scratch_,
                             compute, tap_or_null);
    else
      gated_attention_forward(lw.attn, c, m.rope(), normed_.data(), T, positions, kv_[i],
                              branch_.data(), attn_scratch_, compute, tap_or_null);
    add_branch();
    norm_rows(lw.post_norm);
    if (lw.is_moe)
      moe_forward(lw.moe, c, normed_.data(), T, branch_.data(), moe_scratch_, compute,
                  tap_or_null);
    else
      swiglu_forward(lw.mlp, normed_.data(), T, branch_.data(), moe_scratch_.swiglu, compute,
                     tap_or_null);
    add_branch();
  }
  length_ += T;

  // Final norm and head (spec §3.8), only for the rows whose logits are wanted.
  if (!logits_out) return;
  const int64_t first = all_rows ? 0 : T - 1, rows = T - first;
  for (int64_t t = first; t < T; ++t)
    rms_norm(hidden_.data() + t * H, w.final_norm.data(), H, c.rms_norm_eps,
             normed_.data() + (t - first) * H);
  if (tap_or_null) {
    tap.prefix = "language_model.";
    tap.layer = -1;
    tap("lm_head", w.lm_head, normed_.data(), rows);
  }
  compute.matmul(w.lm_head, normed_.data(), rows, logits_out);
}

}  // namespace tf
