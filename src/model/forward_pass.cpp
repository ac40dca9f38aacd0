#include "model/forward_pass.h"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "kernels/linear.h"
#include "kernels/ops.h"

namespace tf {

namespace {

int64_t rows_of(OutputRows r, int64_t count) {
  return r == OutputRows::All ? count : r == OutputRows::Last ? 1 : 0;
}

}  // namespace

ForwardPass::ForwardPass(const Model& model, ForwardOptions options)
    : model_(model), options_(std::move(options)) {}

std::span<const float> ForwardPass::logits(size_t item) const {
  const Placed& p = placed_.at(item);
  const int64_t V = model_.vocab_size();
  return {logits_.data() + p.logits_begin * V, static_cast<size_t>(p.logits_rows * V)};
}

std::span<const float> ForwardPass::hidden(size_t item) const {
  const Placed& p = placed_.at(item);
  const int64_t H = model_.hidden_size();
  return {final_hidden_.data() + p.hidden_begin * H, static_cast<size_t>(p.hidden_rows * H)};
}

void ForwardPass::run(std::span<const BatchItem> items) {
  prepare(items);
  if (hidden_.empty()) return;
  layers(items);
  for (const BatchItem& item : items)
    if (item.count() > 0) item.sequence->appended(item.count(), item.keep_states);
  outputs();
}

void ForwardPass::prepare(std::span<const BatchItem> items) {
  const int64_t H = model_.hidden_size();
  placed_.resize(items.size());
  int64_t T = 0, logit_rows = 0, hidden_rows = 0;
  for (size_t i = 0; i < items.size(); ++i) {
    const BatchItem& item = items[i];
    if (!item.sequence || &item.sequence->model() != &model_)
      throw std::invalid_argument("ForwardPass::run: item " + std::to_string(i) +
                                  " has no sequence of this model");
    for (size_t j = 0; j < i; ++j)
      if (items[j].sequence == item.sequence)
        throw std::invalid_argument("ForwardPass::run: items " + std::to_string(j) + " and " +
                                    std::to_string(i) + " name the same sequence");
    const int64_t n = item.count();
    if (item.tokens.empty() && static_cast<int64_t>(item.embeddings.size()) != n * H)
      throw std::invalid_argument("ForwardPass::run: " + std::to_string(item.embeddings.size()) +
                                  " floats for " + std::to_string(n) +
                                  " positions of width " + std::to_string(H));
    if (item.sequence->length() + n > item.sequence->capacity())
      throw std::length_error("ForwardPass::run: " + std::to_string(n) + " tokens after " +
                              std::to_string(item.sequence->length()) +
                              " would pass the sequence's capacity of " +
                              std::to_string(item.sequence->capacity()));
    if (!item.tokens.empty() && !item.embeddings.empty())
      throw std::invalid_argument("ForwardPass::run: an item has tokens and embeddings");
    Placed& p = placed_[i];
    p = {T, n, logit_rows, rows_of(item.logits, n), hidden_rows, rows_of(item.hidden, n)};
    T += n;
    logit_rows += p.logits_rows;
    hidden_rows += p.hidden_rows;
  }
  // Inputs of every row: embedding lookups validate ids before any state changes.
  hidden_.resize(T * H);
  positions_.resize(T);
  for (size_t i = 0; i < items.size(); ++i) {
    const BatchItem& item = items[i];
    const Placed& p = placed_[i];
    if (item.tokens.empty()) {
      std::copy(item.embeddings.begin(), item.embeddings.end(), hidden_.begin() + p.begin * H);
      std::copy(item.positions.begin(), item.positions.end(), positions_.begin() + p.begin);
    } else {
      model_.embed(item.tokens, hidden_.data() + p.begin * H);
      const int64_t next = item.sequence->next_position();
      for (int64_t t = 0; t < p.count; ++t) positions_[p.begin + t] = Position3::text(next + t);
    }
  }
  logits_.resize(logit_rows * model_.vocab_size());
  final_hidden_.resize(hidden_rows * H);
}

void ForwardPass::layers(std::span<const BatchItem> items) {
  const Model& m = model_;
  const TextConfig& c = m.text();
  const Qwen35Weights& w = m.weights();
  const Compute compute{m.pool(), options_.precision, &matmul_scratch_};
  const int64_t H = c.hidden_size;
  const int64_t T = static_cast<int64_t>(positions_.size());

  normed_.resize(T * H);
  branch_.resize(T * H);
  // Row by row, on the pool for a prefill (on one thread the other core would wait).
  auto norm_rows = [&](const std::vector<float>& weight) {
    compute.run(T, 4 * H, [&](int64_t t, int) {
      rms_norm(hidden_.data() + t * H, weight.data(), H, c.rms_norm_eps, normed_.data() + t * H);
    });
  };
  auto add_branch = [&] {
    compute.run(T, H, [&](int64_t t, int) {
      axpy(1.0f, branch_.data() + t * H, hidden_.data() + t * H, H);  // 1 · b is b: h + b exactly
    });
  };

  // Decoder layer (spec §3.3): h += Mixer(norm_in(h)); h += FFN(norm_post(h)). Only the mixers
  // see sequences; everything else is row by row over the whole batch.
  LinearTap tap{.fn = &options_.linear_tap, .prefix = {}, .layer = -1};
  const LinearTap* tap_or_null = options_.linear_tap ? &tap : nullptr;
  for (int i = 0; i < c.num_hidden_layers; ++i) {
    const LayerWeights& lw = w.layers[i];
    if (tap_or_null) {
      tap.layer = i;
      tap.prefix = "language_model.model.layers." + std::to_string(i) + ".";
    }
    norm_rows(lw.input_norm);
    gdn_rows_.clear();
    attn_rows_.clear();
    for (size_t j = 0; j < items.size(); ++j) {
      const Placed& p = placed_[j];
      if (p.count == 0) continue;
      Sequence& seq = *items[j].sequence;
      if (lw.type == LayerType::LinearAttention)
        gdn_rows_.push_back({p.begin, p.count, &seq.gdn_[i],
                             items[j].keep_states ? &seq.history_[i] : nullptr});
      else
        attn_rows_.push_back({p.begin, p.count, &seq.kv_[i]});
    }
    if (lw.type == LayerType::LinearAttention)
      gated_deltanet_forward(lw.gdn, c, normed_.data(), T, gdn_rows_, branch_.data(),
                             gdn_scratch_, compute, tap_or_null);
    else
      gated_attention_forward(lw.attn, c, m.rope(), normed_.data(), T, positions_.data(),
                              attn_rows_, branch_.data(), attn_scratch_, compute, tap_or_null);
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
}

void ForwardPass::outputs() {
  const TextConfig& c = model_.text();
  const Qwen35Weights& w = model_.weights();
  const int64_t H = c.hidden_size;
  // Final norm (spec §3.8) of the rows asked for: hidden rows into final_hidden_, logits rows
  // into normed_ (free now), packed, then one product with the head.
  int64_t head_rows = 0;
  for (const Placed& p : placed_) {
    for (int64_t r = 0; r < p.hidden_rows; ++r) {
      const int64_t t = p.begin + p.count - p.hidden_rows + r;
      rms_norm(hidden_.data() + t * H, w.final_norm.data(), H, c.rms_norm_eps,
               final_hidden_.data() + (p.hidden_begin + r) * H);
    }
    for (int64_t r = 0; r < p.logits_rows; ++r) {
      const int64_t t = p.begin + p.count - p.logits_rows + r;
      rms_norm(hidden_.data() + t * H, w.final_norm.data(), H, c.rms_norm_eps,
               normed_.data() + (head_rows++) * H);
    }
  }
  if (head_rows == 0) return;
  const Compute compute{model_.pool(), options_.precision, &matmul_scratch_};
  if (options_.linear_tap) {
    LinearTap tap{&options_.linear_tap, "language_model.", -1};
    tap("lm_head", w.lm_head, normed_.data(), head_rows);
  }
  compute.matmul(w.lm_head, normed_.data(), head_rows, logits_.data());
}

}  // namespace tf
