#include "runtime/sampler.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "kernels/ops.h"
#include "runtime/logits_processors.h"

namespace tf {

double uniform_unit(std::mt19937_64& rng) {
  return static_cast<double>(rng() >> 11) * 0x1.0p-53;
}

Sampler::Sampler(SamplerConfig config, int32_t vocab_size)
    : config_(std::move(config)), vocab_size_(vocab_size) {
  if (vocab_size_ <= 0) throw std::invalid_argument("sampler: vocabulary size must be positive");
  validate(config_);
  for (const auto& [id, bias] : config_.logit_bias) {
    if (id >= vocab_size_) {
      throw std::invalid_argument("--logit-bias: token id " + std::to_string(id) +
                                  " is outside the vocabulary (" + std::to_string(vocab_size_) +
                                  " tokens)");
    }
  }
  if (config_.seed) {
    rng_.seed(*config_.seed);
  } else {
    std::random_device device;
    rng_.seed((static_cast<uint64_t>(device()) << 32) ^ device());
  }
}

void Sampler::process(std::span<const float> logits, std::span<const int32_t> history) {
  check_logits(logits, vocab_size_);
  processed_.assign(logits.begin(), logits.begin() + vocab_size_);
  apply_logit_bias(processed_, config_.logit_bias);
  apply_repetition_penalty(processed_, recent_tokens(history, config_.repetition_context_size),
                           config_.repetition_penalty);
  apply_presence_frequency_penalty(processed_, recent_tokens(history, config_.penalty_context_size),
                                   config_.presence_penalty, config_.frequency_penalty);
  // Bias or penalties may have banned every token (e.g. -inf bias on the only finite logit).
  const FloatRowScan scan = scan_row(processed_.data(), vocab_size_);
  if (scan.nan_or_inf ? std::none_of(processed_.begin(), processed_.end(),
                                     [](float v) { return std::isfinite(v); })
                      : !(scan.max > -INFINITY)) {
    throw std::runtime_error("sampler: every token is banned after --logit-bias / penalties");
  }
  processed_max_ = scan.max;
}

int32_t Sampler::argmax() const {
  // The first maximum (std::max_element's): the lowest id wins a tie.
  return static_cast<int32_t>(first_index_of_max(processed_.data(), vocab_size_, processed_max_));
}

void Sampler::sort_prefix(size_t count) {
  count = std::min(count, candidates_.size());
  if (count <= sorted_prefix_) return;
  std::partial_sort(candidates_.begin(), candidates_.begin() + count, candidates_.end(),
                    [](const Candidate& a, const Candidate& b) {
                      return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
                    });
  sorted_prefix_ = count;
}

void Sampler::truncate() {
  // Temperature, applied to logits shifted so the best is 0: every score is <= 0 and exp()
  // never overflows, however small the temperature.
  const float top = *std::max_element(processed_.begin(), processed_.end());
  const double inv_t = 1.0 / static_cast<double>(config_.temperature);
  candidates_.clear();
  for (int32_t id = 0; id < vocab_size_; ++id) {
    const float v = processed_[id];
    if (std::isfinite(v)) {
      candidates_.push_back({static_cast<float>((static_cast<double>(v) - top) * inv_t), id});
    }
  }
  sorted_prefix_ = 0;

  // top_k: keep the k best (k >= number of candidates: nothing to do).
  if (config_.top_k > 0 && static_cast<size_t>(config_.top_k) < candidates_.size()) {
    sort_prefix(static_cast<size_t>(config_.top_k));
    candidates_.resize(static_cast<size_t>(config_.top_k));
  }

  // top_p: the smallest prefix of the sorted candidates whose mass reaches top_p. Sorting the
  // whole vocabulary each token is wasteful, so the sorted prefix grows only as far as needed.
  if (config_.top_p < 1.0f) {
    double total = 0.0;
    for (const Candidate& c : candidates_) total += std::exp(static_cast<double>(c.logit));
    const double target = static_cast<double>(config_.top_p) * total;
    double cumulative = 0.0;
    size_t keep = candidates_.size();
    for (size_t i = 0; i < candidates_.size(); ++i) {
      if (i == sorted_prefix_) sort_prefix(std::max<size_t>(64, 4 * sorted_prefix_));
      cumulative += std::exp(static_cast<double>(candidates_[i].logit));
      if (cumulative >= target) {
        keep = i + 1;
        break;
      }
    }
    candidates_.resize(keep);
    sorted_prefix_ = std::min(sorted_prefix_, keep);
  }

  // min_p: p / p_max >= min_p, i.e. score >= log(min_p) since the best score is 0 (the best
  // token survives top_k and top_p, so p_max is unchanged by them).
  if (config_.min_p > 0.0f) {
    const double threshold = std::log(static_cast<double>(config_.min_p));
    std::erase_if(candidates_, [&](const Candidate& c) { return c.logit < threshold; });
    sorted_prefix_ = 0;  // the kept order is still deterministic, just not necessarily sorted
  }

  probs_.resize(candidates_.size());
  double sum = 0.0;
  for (size_t i = 0; i < candidates_.size(); ++i) {
    probs_[i] = std::exp(static_cast<double>(candidates_[i].logit));
    sum += probs_[i];
  }
  for (double& p : probs_) p /= sum;
}

int32_t Sampler::sample(std::span<const float> logits, std::span<const int32_t> history) {
  process(logits, history);
  if (config_.greedy()) return argmax();
  truncate();
  const double u = uniform_unit(rng_);
  double cumulative = 0.0;
  for (size_t i = 0; i < candidates_.size(); ++i) {
    cumulative += probs_[i];
    if (u < cumulative) return candidates_[i].id;
  }
  // Rounding left the total a hair below u: take the last token with non-zero probability.
  for (size_t i = candidates_.size(); i-- > 0;) {
    if (probs_[i] > 0.0) return candidates_[i].id;
  }
  return candidates_.front().id;
}

std::vector<double> Sampler::distribution(std::span<const float> logits,
                                          std::span<const int32_t> history) {
  process(logits, history);
  std::vector<double> out(logits.size(), 0.0);
  if (config_.greedy()) {
    out[argmax()] = 1.0;
    return out;
  }
  truncate();
  for (size_t i = 0; i < candidates_.size(); ++i) out[candidates_[i].id] = probs_[i];
  return out;
}

int32_t Sampler::draw(std::span<const double> probs) {
  const double u = uniform_unit(rng_);
  double cumulative = 0.0;
  int32_t last = -1;
  for (size_t i = 0; i < probs.size(); ++i) {
    if (probs[i] <= 0.0) continue;
    cumulative += probs[i];
    last = static_cast<int32_t>(i);
    if (u < cumulative) return last;
  }
  if (last < 0) throw std::logic_error("Sampler::draw: the distribution has no mass");
  return last;
}

}  // namespace tf
