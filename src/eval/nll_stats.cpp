// Per-token NLL statistics, quantiles and a stable log-sum-exp (include/tightfit/eval.h).
#include <algorithm>
#include <cmath>
#include <limits>

#include "tightfit/eval.h"

namespace tightfit::eval {

void NllStats::add(double nll) {
  ++count;
  sum += nll;
  sum_squares += nll * nll;
}

double NllStats::mean() const { return count ? sum / count : std::numeric_limits<double>::quiet_NaN(); }

double NllStats::standard_error() const {
  if (count < 2) return 0;
  const double m = mean();
  // Sample variance from the running sums; clamped at 0 against rounding.
  const double variance = std::max(0.0, (sum_squares - count * m * m) / (count - 1));
  return std::sqrt(variance / count);
}

double NllStats::perplexity() const { return std::exp(mean()); }

double NllStats::perplexity_margin95() const { return 1.96 * perplexity() * standard_error(); }

double quantile(std::vector<double> values, double q) {
  if (values.empty()) return std::numeric_limits<double>::quiet_NaN();
  std::sort(values.begin(), values.end());
  const double at = std::clamp(q, 0.0, 1.0) * static_cast<double>(values.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(at));
  const size_t hi = std::min(lo + 1, values.size() - 1);
  return values[lo] + (at - static_cast<double>(lo)) * (values[hi] - values[lo]);
}

double log_sum_exp(std::span<const float> logits) {
  if (logits.empty()) return -std::numeric_limits<double>::infinity();
  const double top = *std::max_element(logits.begin(), logits.end());
  if (std::isinf(top)) return top;
  double s = 0;
  for (const float x : logits) s += std::exp(static_cast<double>(x) - top);
  return top + std::log(s);
}

}  // namespace tightfit::eval
