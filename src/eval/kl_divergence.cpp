// KL divergence of a model against a reference's stored top-k logits, and the statistics
// llama-perplexity's KL-divergence mode prints (tools/perplexity/perplexity.cpp in llama.cpp:
// mean KLD with its standard error, percentiles, "Same top p" = the share of positions where
// both argmaxes agree, Δp of the actual next token). See include/tightfit/eval.h.
//
// The reference keeps only its k largest logits and the log-sum-exp of the rest, so KL is taken
// over k+1 outcomes: the k tokens and "any other token", whose probabilities are
//   p_i = exp(l_i - Z),  p_rest = exp(rest_lse - Z),  Z = log(Σ_top exp(l_i) + exp(rest_lse))
// and for the model q_i = softmax(model logits)[id_i], q_rest = 1 - Σ q_i (summed directly over
// the other tokens, not by subtraction, so a tiny rest keeps its precision):
//   KL = Σ_i p_i (log p_i - log q_i) + p_rest (log p_rest - log q_rest).
// Grouping outcomes never increases KL (the log-sum inequality), so this is a lower bound of the
// full-vocabulary KL, equal to it when the reference puts all its mass in its top k; at k = 32
// the rest of a trained model's next-token distribution is usually small.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>

#include "tightfit/eval.h"

namespace tightfit::eval {

namespace {

double log_add_exp(double a, double b) {
  if (std::isinf(a) && a < 0) return b;
  if (std::isinf(b) && b < 0) return a;
  const double top = std::max(a, b);
  return top + std::log(std::exp(a - top) + std::exp(b - top));
}

int64_t argmax(std::span<const float> logits) {
  return std::max_element(logits.begin(), logits.end()) - logits.begin();  // first of ties
}

}  // namespace

TopLogits TopLogits::of(std::span<const float> logits, int32_t target, int k) {
  const int64_t vocab = static_cast<int64_t>(logits.size());
  const int64_t kept = std::min<int64_t>(std::max(k, 1), vocab);
  std::vector<int32_t> order(vocab);
  std::iota(order.begin(), order.end(), 0);
  // Largest first; ties by the lower id, as an argmax picks them.
  std::partial_sort(order.begin(), order.begin() + kept, order.end(), [&](int32_t a, int32_t b) {
    return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
  });
  TopLogits t;
  t.ids.assign(order.begin(), order.begin() + kept);
  for (const int32_t id : t.ids) t.logits.push_back(logits[id]);
  double rest = -std::numeric_limits<double>::infinity();
  if (kept < vocab) {
    const double top = logits[order[kept]];  // the largest of the rest
    double s = 0;
    for (auto it = order.begin() + kept; it != order.end(); ++it) s += std::exp(logits[*it] - top);
    rest = top + std::log(s);
  }
  t.rest_log_sum_exp = static_cast<float>(rest);
  t.target_logprob = static_cast<float>(logits[target] - log_sum_exp(logits));
  return t;
}

double TopLogits::log_normalizer() const {
  return log_add_exp(log_sum_exp(logits), rest_log_sum_exp);
}

TokenDivergence divergence(const TopLogits& reference, std::span<const float> model_logits, int32_t target) {
  const double z_ref = reference.log_normalizer();
  const double z_model = log_sum_exp(model_logits);
  const size_t vocab = model_logits.size();
  std::vector<uint8_t> in_top(vocab, 0);
  TokenDivergence d;
  double kl = 0;
  for (size_t i = 0; i < reference.ids.size(); ++i) {
    const int32_t id = reference.ids[i];
    in_top[id] = 1;
    const double log_p = reference.logits[i] - z_ref;
    const double log_q = model_logits[id] - z_model;
    kl += std::exp(log_p) * (log_p - log_q);
  }
  const double log_p_rest = reference.rest_log_sum_exp - z_ref;
  if (!std::isinf(log_p_rest)) {
    double q_rest = 0;
    for (size_t j = 0; j < vocab; ++j)
      if (!in_top[j]) q_rest += std::exp(model_logits[j] - z_model);
    kl += std::exp(log_p_rest) * (log_p_rest - std::log(q_rest));
  }
  d.kl = kl;
  d.same_top = !reference.ids.empty() && argmax(model_logits) == reference.ids[0];
  d.reference_logprob = reference.target_logprob;
  d.model_logprob = model_logits[target] - z_model;
  return d;
}

void KldResult::add(const TokenDivergence& d) {
  kl.push_back(d.kl);
  same_top += d.same_top;
  reference_nll.add(-d.reference_logprob);
  model_nll.add(-d.model_logprob);
  const double dp = std::exp(d.model_logprob) - std::exp(d.reference_logprob);
  sum_dp += dp;
  sum_dp2 += dp * dp;
  ++tokens;
}

double KldResult::mean_kl() const {
  return tokens ? std::accumulate(kl.begin(), kl.end(), 0.0) / tokens : std::numeric_limits<double>::quiet_NaN();
}

double KldResult::kl_standard_error() const {
  if (tokens < 2) return 0;
  const double m = mean_kl();
  double s = 0;
  for (const double x : kl) s += (x - m) * (x - m);
  return std::sqrt(s / (tokens - 1) / tokens);
}

double KldResult::same_top_rate() const { return tokens ? double(same_top) / tokens : 0; }
double KldResult::mean_dp() const { return tokens ? sum_dp / tokens : 0; }
double KldResult::rms_dp() const { return tokens ? std::sqrt(sum_dp2 / tokens) : 0; }

ReferenceLogits collect_reference(Engine& engine, std::span<const int32_t> tokens, const WindowOptions& options,
                                  int k, const Progress& progress, const std::atomic<bool>* cancel) {
  if (k < 1) throw InvalidRequest("top-k must be at least 1, got " + std::to_string(k), "k");
  ReferenceLogits r;
  r.tokens.assign(tokens.begin(), tokens.end());
  r.windows = options;
  r.vocab_size = engine.info().vocab_size;
  r.k = static_cast<int>(std::min<int64_t>(k, r.vocab_size));
  r.rows.reserve(tokens.size());
  for_each_scored_token(
      engine, tokens, options,
      [&](int64_t position, std::span<const float> logits) {
        r.rows.push_back(TopLogits::of(logits, tokens[position], r.k));
      },
      progress, cancel);
  return r;
}

KldResult kl_divergence(Engine& engine, const ReferenceLogits& reference, const Progress& progress,
                        const std::atomic<bool>* cancel) {
  if (engine.info().vocab_size != reference.vocab_size)
    throw InvalidRequest("the reference's vocabulary has " + std::to_string(reference.vocab_size) +
                         " tokens, this model's " + std::to_string(engine.info().vocab_size) +
                         ": KL divergence needs two models with the same tokenizer");
  if (reference.rows.size() + 1 != reference.tokens.size())
    throw InvalidRequest("the reference covers " + std::to_string(reference.rows.size()) + " positions of a " +
                         std::to_string(reference.tokens.size()) +
                         "-token text (it was cut short): score it again to the end");
  KldResult r;
  r.complete = for_each_scored_token(
      engine, reference.tokens, reference.windows,
      [&](int64_t position, std::span<const float> logits) {
        r.add(divergence(reference.rows[position - 1], logits, reference.tokens[position]));
      },
      progress, cancel);
  return r;
}

}  // namespace tightfit::eval
