#include "runtime/stop_string_filter.h"

#include <algorithm>
#include <stdexcept>

namespace tf {

StopStringFilter::StopStringFilter(std::vector<std::string> stop_strings)
    : stops_(std::move(stop_strings)) {
  for (const auto& s : stops_) {
    if (s.empty()) throw std::invalid_argument("--stop: a stop string cannot be empty");
  }
}

StopStringFilter::Result StopStringFilter::push(std::string_view text) {
  Result r;
  if (stopped_) return r;
  held_.append(text);
  if (stops_.empty()) {
    r.text.swap(held_);
    return r;
  }

  // The earliest complete stop string wins (ties: the first listed).
  size_t best = std::string::npos;
  const std::string* which = nullptr;
  for (const auto& s : stops_) {
    const size_t pos = held_.find(s);
    if (pos < best) {
      best = pos;
      which = &s;
    }
  }
  if (which) {
    r.text = held_.substr(0, best);
    r.stopped = stopped_ = true;
    matched_ = *which;
    held_.clear();
    return r;
  }

  // Hold back the longest tail that is a proper prefix of some stop string. Such a tail starts
  // with a stop string's first byte, a UTF-8 lead byte, so the printed part never ends inside a
  // character.
  size_t hold = 0;
  for (const auto& s : stops_) {
    for (size_t len = std::min(s.size() - 1, held_.size()); len > hold; --len) {
      if (std::string_view(held_).substr(held_.size() - len) == std::string_view(s).substr(0, len)) {
        hold = len;
        break;
      }
    }
  }
  r.text = held_.substr(0, held_.size() - hold);
  held_.erase(0, held_.size() - hold);
  return r;
}

std::string StopStringFilter::flush() {
  std::string out;
  out.swap(held_);
  return out;
}

}  // namespace tf
