// The engine's events for one request turned into what the response writers send: reasoning
// text, answer text and parsed tool calls, in order, read off the handle with a heartbeat so a
// client that went away is noticed and its request cancelled at the next token.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "server/tool_call_parser.h"
#include "tightfit/tightfit.h"

namespace tf::server {

struct OutputDelta {
  enum class Kind { reasoning, content, tool_call } kind = Kind::content;
  std::string text;                             // reasoning / content
  ParsedToolCall call;                          // tool_call
  int tool_index = 0;                           // tool_call: 0, 1, ... in the order made
  std::vector<tightfit::TokenLogprob> logprobs; // of the tokens since the previous delta
};

// Reasoning events pass through; answer text goes through the tool-call parser (when the
// request gave tools). While tools are on, whitespace at the end of the text so far is held
// back, so the blank line before a tool call does not end the content (it comes out when more
// text follows, and is dropped when the answer ends in tool calls).
class OutputSplitter {
 public:
  explicit OutputSplitter(nlohmann::json tools);
  std::vector<OutputDelta> feed(const tightfit::Event& event);
  // The end: what is still held comes out, with `last_logprobs` (the done event's).
  std::vector<OutputDelta> finish(const std::vector<tightfit::TokenLogprob>& last_logprobs = {});
  int tool_calls() const { return tool_calls_; }

 private:
  void add(std::vector<AnswerPiece> pieces, std::vector<OutputDelta>& out);
  ToolCallParser parser_;
  bool hold_whitespace_;
  std::string held_whitespace_;
  std::vector<tightfit::TokenLogprob> held_logprobs_;
  int tool_calls_ = 0;
};

struct PumpResult {
  bool client_gone = false;   // a write failed: the request was cancelled
  tightfit::Event done;       // the done event (when !client_gone)
};

// Reads `handle` to its done event, handing each delta to `on_delta` and calling `on_idle` (a
// heartbeat write) every `idle_every`. Either returning false means the client is gone: the
// request is cancelled and the pump returns.
PumpResult pump_events(tightfit::RequestHandle& handle, OutputSplitter& splitter,
                       const std::function<bool(const OutputDelta&)>& on_delta,
                       const std::function<bool()>& on_idle, std::chrono::milliseconds idle_every);

}  // namespace tf::server
