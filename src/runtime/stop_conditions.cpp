#include "runtime/stop_conditions.h"

#include <stdexcept>

namespace tf {

const char* to_string(StopReason reason) {
  switch (reason) {
    case StopReason::none: return "";
    case StopReason::eos: return "eos";
    case StopReason::stop_string: return "stop string";
    case StopReason::max_tokens: return "max tokens";
    case StopReason::repetition_loop: return "repetition loop";
  }
  return "";
}

StopConditions::StopConditions(StopConfig config)
    : config_(std::move(config)),
      eos_(config_.eos_token_ids.begin(), config_.eos_token_ids.end()),
      filter_(config_.stop_strings),
      guard_(config_.loop_guard) {
  if (config_.max_tokens <= 0) {
    throw std::invalid_argument("--max-tokens must be a positive number, got " +
                                std::to_string(config_.max_tokens));
  }
}

StopConditions::Step StopConditions::push(int32_t token, std::string_view text) {
  Step step;
  if (reason_ != StopReason::none) {
    step.stop = reason_;
    return step;
  }
  ++tokens_;
  if (is_eos(token)) {
    step.text = filter_.flush();
    step.stop = reason_ = StopReason::eos;
    return step;
  }
  auto filtered = filter_.push(text);
  step.text = std::move(filtered.text);
  if (filtered.stopped) {
    step.stop = reason_ = StopReason::stop_string;
    return step;
  }
  if (guard_.push(token)) {
    reason_ = StopReason::repetition_loop;
  } else if (tokens_ >= config_.max_tokens) {
    reason_ = StopReason::max_tokens;
  }
  if (reason_ != StopReason::none) {
    step.text += filter_.flush();
    step.stop = reason_;
  }
  return step;
}

std::string StopConditions::notice() const {
  if (reason_ == StopReason::repetition_loop) return guard_.notice();
  return {};
}

}  // namespace tf
