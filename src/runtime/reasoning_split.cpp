#include "runtime/reasoning_split.h"

#include <algorithm>
#include <stdexcept>

namespace tf {

bool prompt_opens_reasoning(std::string_view prompt, std::string_view open_tag,
                            std::string_view close_tag) {
  const size_t open = prompt.rfind(open_tag);
  if (open == std::string_view::npos) return false;
  const size_t close = prompt.rfind(close_tag);
  return close == std::string_view::npos || close < open;
}

ReasoningSplitter::ReasoningSplitter(ReasoningSplitConfig config)
    : config_(std::move(config)), in_reasoning_(config_.starts_in_reasoning) {
  if (config_.open_tag.empty() || config_.close_tag.empty()) {
    throw std::invalid_argument("reasoning split: the think tags cannot be empty");
  }
  opened_once_ = in_reasoning_;
}

bool ReasoningSplitter::looking_for_open_tag() const {
  // Only before any answer text: "<think>" later in an answer is just text.
  return !in_reasoning_ && !opened_once_ && answer_.empty();
}

void ReasoningSplitter::emit(TextChannel channel, std::string_view text,
                             std::vector<TextPiece>& out) {
  if (at_section_start_) {
    const size_t first = text.find_first_not_of('\n');
    if (first == std::string_view::npos) return;  // still only newlines: drop
    text.remove_prefix(first);
    at_section_start_ = false;
  }
  std::string shown;
  if (channel == TextChannel::reasoning) {
    // Keep trailing newlines back: they are dropped if "</think>" comes next.
    std::string s = held_newlines_;
    s.append(text);
    const size_t last = s.find_last_not_of('\n');
    if (last == std::string::npos) {
      held_newlines_ = std::move(s);
      return;
    }
    held_newlines_ = s.substr(last + 1);
    shown = s.substr(0, last + 1);
    reasoning_ += shown;
    if (!config_.show_reasoning) return;
  } else {
    shown = std::string(text);
    answer_ += shown;
  }
  if (shown.empty()) return;
  if (!out.empty() && out.back().channel == channel) {
    out.back().text += shown;
  } else {
    out.push_back({channel, std::move(shown)});
  }
}

void ReasoningSplitter::switch_channel() {
  in_reasoning_ = !in_reasoning_;
  if (in_reasoning_) opened_once_ = true;
  held_newlines_.clear();
  at_section_start_ = true;
}

std::vector<TextPiece> ReasoningSplitter::push(std::string_view text) {
  std::vector<TextPiece> out;
  std::string buffer = std::move(pending_);
  pending_.clear();
  buffer.append(text);
  std::string_view rest(buffer);
  while (!rest.empty()) {
    if (!in_reasoning_) {
      if (!looking_for_open_tag()) {
        emit(TextChannel::answer, rest, out);
        break;
      }
      // Start of the output: blank space, then maybe the open tag.
      const size_t first = rest.find_first_not_of("\n ");
      if (first == std::string_view::npos) {
        pending_ = std::string(rest);  // only blanks so far: undecided
        break;
      }
      const std::string_view body = rest.substr(first);
      const std::string_view tag = config_.open_tag;
      if (body.substr(0, tag.size()) == tag) {
        rest = body.substr(tag.size());
        switch_channel();
        continue;
      }
      if (tag.substr(0, body.size()) == body) {
        pending_ = std::string(rest);  // a partial open tag: undecided
        break;
      }
      emit(TextChannel::answer, rest, out);  // plain answer: no reasoning block
      break;
    }
    const std::string_view tag = config_.close_tag;
    const size_t pos = rest.find(tag);
    if (pos != std::string_view::npos) {
      emit(TextChannel::reasoning, rest.substr(0, pos), out);
      rest.remove_prefix(pos + tag.size());
      switch_channel();
      continue;
    }
    // Hold back the longest tail that may be the start of the close tag.
    size_t hold = 0;
    for (size_t len = std::min(tag.size() - 1, rest.size()); len > 0; --len) {
      if (rest.substr(rest.size() - len) == tag.substr(0, len)) {
        hold = len;
        break;
      }
    }
    emit(TextChannel::reasoning, rest.substr(0, rest.size() - hold), out);
    pending_ = std::string(rest.substr(rest.size() - hold));
    break;
  }
  return out;
}

std::vector<TextPiece> ReasoningSplitter::finish() {
  std::vector<TextPiece> out;
  std::string rest = std::move(pending_);
  pending_.clear();
  if (!rest.empty()) {
    emit(in_reasoning_ ? TextChannel::reasoning : TextChannel::answer, rest, out);
  }
  return out;
}

}  // namespace tf
