#include "runtime/loop_guard.h"

#include <stdexcept>

namespace tf {

LoopGuard::LoopGuard(LoopGuardConfig config) : config_(config) {
  if (config_.max_period < 1 || config_.min_repeats < 2 || config_.min_span < 1) {
    throw std::invalid_argument(
        "loop guard: max_period >= 1, min_repeats >= 2 and min_span >= 1 are required");
  }
  tail_.assign(static_cast<size_t>(config_.max_period) + 1, 0);
  run_.assign(static_cast<size_t>(config_.max_period) + 1, 0);
}

bool LoopGuard::push(int32_t token) {
  if (!config_.enabled) return false;
  if (period_ > 0) return true;
  const size_t ring = tail_.size();
  tail_[count_ % ring] = token;
  ++count_;
  for (int p = 1; p <= config_.max_period; ++p) {
    if (count_ <= static_cast<size_t>(p)) break;
    const int32_t earlier = tail_[(count_ - 1 - static_cast<size_t>(p)) % ring];
    run_[p] = (earlier == token) ? run_[p] + 1 : 0;
  }
  // The smallest period that qualifies names the loop ("a a a a" is period 1, not 2).
  for (int p = 1; p <= config_.max_period; ++p) {
    const int64_t span = run_[p] + p;
    const int64_t copies = span / p;
    if (copies >= config_.min_repeats && copies * p >= config_.min_span) {
      period_ = p;
      repeats_ = static_cast<int>(copies);
      return true;
    }
  }
  return false;
}

std::string LoopGuard::notice() const {
  if (period_ == 0) return {};
  return "stopped: the model is stuck in a loop (the same " + std::to_string(period_) +
         "-token sequence " + std::to_string(repeats_) +
         " times in a row); try --repetition-penalty 1.1, --presence-penalty 1.5 or a "
         "higher-precision model";
}

}  // namespace tf
