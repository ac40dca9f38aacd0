#include "runtime/logits_processors.h"

#include <cmath>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "kernels/ops.h"

namespace tf {

void check_logits(std::span<const float> logits, int32_t vocab_size) {
  if (vocab_size <= 0) throw std::invalid_argument("sampler: vocabulary size must be positive");
  if (logits.size() < static_cast<size_t>(vocab_size)) {
    throw std::runtime_error("sampler: logits row has " + std::to_string(logits.size()) +
                             " entries but the tokenizer has " + std::to_string(vocab_size) +
                             " tokens (model and tokenizer do not match)");
  }
  // One vector pass finds a clean row (no NaN, no +inf, a finite maximum); the entry loop below
  // runs only to name what is wrong.
  const FloatRowScan scan = scan_row(logits.data(), vocab_size);
  if (!scan.nan_or_inf && scan.max > -INFINITY) return;
  bool any_finite = false;
  for (int32_t i = 0; i < vocab_size; ++i) {
    const float v = logits[i];
    if (std::isnan(v) || v == INFINITY) {
      throw std::runtime_error(
          "sampler: the model produced an invalid logit (" + std::string(std::isnan(v) ? "NaN" : "+inf") +
          ") for token " + std::to_string(i) +
          "; the weights or the quantization are broken (try a higher-precision model)");
    }
    any_finite |= std::isfinite(v);
  }
  if (!any_finite) {
    throw std::runtime_error("sampler: every token has logit -inf (all tokens banned by "
                             "--logit-bias or the model output is broken)");
  }
}

void apply_logit_bias(std::span<float> logits, std::span<const std::pair<int32_t, float>> bias) {
  for (const auto& [id, b] : bias) {
    if (id < 0 || static_cast<size_t>(id) >= logits.size()) {
      throw std::invalid_argument("--logit-bias: token id " + std::to_string(id) +
                                  " is outside the vocabulary (size " +
                                  std::to_string(logits.size()) + ")");
    }
    logits[id] += b;
  }
}

std::span<const int32_t> recent_tokens(std::span<const int32_t> history, int window) {
  if (window <= 0 || static_cast<size_t>(window) >= history.size()) return history;
  return history.subspan(history.size() - static_cast<size_t>(window));
}

void apply_repetition_penalty(std::span<float> logits, std::span<const int32_t> recent,
                              float penalty) {
  if (penalty == 1.0f) return;
  std::unordered_set<int32_t> seen;
  for (int32_t id : recent) {
    if (id < 0 || static_cast<size_t>(id) >= logits.size()) continue;
    if (!seen.insert(id).second) continue;  // once per distinct token, as transformers does
    float& v = logits[id];
    v = v > 0.0f ? v / penalty : v * penalty;
  }
}

void apply_presence_frequency_penalty(std::span<float> logits, std::span<const int32_t> recent,
                                      float presence, float frequency) {
  if (presence == 0.0f && frequency == 0.0f) return;
  std::unordered_map<int32_t, int> count;
  for (int32_t id : recent) {
    if (id < 0 || static_cast<size_t>(id) >= logits.size()) continue;
    ++count[id];
  }
  for (const auto& [id, n] : count) logits[id] -= presence + frequency * static_cast<float>(n);
}

}  // namespace tf
