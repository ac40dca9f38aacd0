#include "server/output_stream.h"

#include <algorithm>
#include <cctype>

namespace tf::server {
namespace {

// The engine has already split the thinking off; a think tag the model writes again inside
// its answer (each tag is one token, so never split across events) is dropped, so `content`
// never carries one.
std::string without_think_tags(std::string text) {
  for (const std::string_view tag : {std::string_view("<think>"), std::string_view("</think>")}) {
    for (size_t at = text.find(tag); at != std::string::npos; at = text.find(tag, at))
      text.erase(at, tag.size());
  }
  return text;
}

}  // namespace
OutputSplitter::OutputSplitter(nlohmann::json tools)
    : parser_(tools), hold_whitespace_(tools.is_array() && !tools.empty()) {}

void OutputSplitter::add(std::vector<AnswerPiece> pieces, std::vector<OutputDelta>& out) {
  for (AnswerPiece& piece : pieces) {
    OutputDelta delta;
    if (piece.is_tool_call) {
      held_whitespace_.clear();
      delta.kind = OutputDelta::Kind::tool_call;
      delta.call = std::move(piece.call);
      delta.tool_index = tool_calls_++;
    } else {
      // While tools are on, trailing whitespace waits to see what follows it.
      size_t keep = piece.text.size();
      if (hold_whitespace_)
        while (keep > 0 && std::isspace(static_cast<unsigned char>(piece.text[keep - 1]))) --keep;
      if (keep == 0) {
        held_whitespace_ += piece.text;
        continue;
      }
      delta.kind = OutputDelta::Kind::content;
      delta.text = std::move(held_whitespace_) + piece.text.substr(0, keep);
      held_whitespace_ = piece.text.substr(keep);
    }
    delta.logprobs = std::move(held_logprobs_);
    held_logprobs_.clear();
    out.push_back(std::move(delta));
  }
}

std::vector<OutputDelta> OutputSplitter::feed(const tightfit::Event& event) {
  std::vector<OutputDelta> out;
  held_logprobs_.insert(held_logprobs_.end(), event.logprobs.begin(), event.logprobs.end());
  if (event.kind == tightfit::EventKind::reasoning) {
    if (event.text.empty() && event.logprobs.empty()) return out;
    OutputDelta delta;
    delta.kind = OutputDelta::Kind::reasoning;
    delta.text = event.text;
    delta.logprobs = std::move(held_logprobs_);
    held_logprobs_.clear();
    out.push_back(std::move(delta));
  } else if (event.kind == tightfit::EventKind::answer) {
    add(parser_.feed(without_think_tags(event.text)), out);
  }
  return out;
}

std::vector<OutputDelta> OutputSplitter::finish(const std::vector<tightfit::TokenLogprob>& last_logprobs) {
  std::vector<OutputDelta> out;
  held_logprobs_.insert(held_logprobs_.end(), last_logprobs.begin(), last_logprobs.end());
  add(parser_.finish(), out);
  if (tool_calls_ == 0 && !held_whitespace_.empty()) {
    OutputDelta delta;
    delta.text = std::move(held_whitespace_);
    out.push_back(std::move(delta));
  }
  held_whitespace_.clear();
  if (!held_logprobs_.empty()) {
    if (out.empty()) out.emplace_back();  // an empty content delta carrying them
    auto& last = out.back().logprobs;
    last.insert(last.end(), held_logprobs_.begin(), held_logprobs_.end());
    held_logprobs_.clear();
  }
  return out;
}

PumpResult pump_events(tightfit::RequestHandle& handle, OutputSplitter& splitter,
                       const std::function<bool(const OutputDelta&)>& on_delta,
                       const std::function<bool()>& on_idle, std::chrono::milliseconds idle_every) {
  PumpResult result;
  auto deliver = [&](std::vector<OutputDelta> deltas) {
    for (const OutputDelta& delta : deltas)
      if (!on_delta(delta)) return false;
    return true;
  };
  using Clock = std::chrono::steady_clock;
  Clock::time_point last_beat = Clock::now();
  for (;;) {
    std::optional<tightfit::Event> event = handle.next_for(idle_every);
    bool alive = true;
    if (event && event->kind == tightfit::EventKind::done) {
      result.done = std::move(*event);
      // The done event may carry the logprobs of tokens held back until the end.
      if (deliver(splitter.finish(result.done.logprobs))) return result;
      alive = false;
    } else if (event) {
      alive = deliver(splitter.feed(*event));
    } else if (handle.finished()) {
      break;  // cannot happen before done; defensive
    }
    // The heartbeat goes out every idle_every whether or not events came: a non-streaming
    // answer writes nothing else before the end.
    if (alive && Clock::now() - last_beat >= idle_every) {
      alive = on_idle();
      last_beat = Clock::now();
    }
    if (!alive) {
      handle.cancel();
      result.client_gone = true;
      return result;
    }
  }
  return result;
}

}  // namespace tf::server
