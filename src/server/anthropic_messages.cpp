// POST /v1/messages (Anthropic): the answer as a message object whose content blocks are
// thinking, text and tool_use, or streamed as Anthropic's events (message_start, then per block
// content_block_start / content_block_delta / content_block_stop, message_delta with the stop
// reason and usage, message_stop; `ping` as the heartbeat).
// https://docs.anthropic.com/en/api/messages-streaming
#include <chrono>

#include "base/json_read.h"
#include "server/http_io.h"
#include "server/openai_format.h"
#include "server/routes.h"

namespace tf::server {
namespace {

using nlohmann::json;

std::string stop_reason(const tightfit::Event& done, int tool_calls) {
  if (tool_calls > 0) return "tool_use";
  switch (done.stop) {
    case tightfit::StopReason::max_tokens:
    case tightfit::StopReason::context_full: return "max_tokens";
    case tightfit::StopReason::stop_string: return "stop_sequence";
    default: return "end_turn";
  }
}

json stop_sequence(const tightfit::Event& done) {
  return done.stop == tightfit::StopReason::stop_string ? json(done.stop_string) : json(nullptr);
}

json tool_input(const std::string& arguments) {
  try {
    return tf::parse_json(arguments, "tool arguments");
  } catch (const std::exception&) {
    return json::object();
  }
}

json error_event(const std::string& message) {
  return anthropic_error_body(ApiError(500, message, "server_error"));
}

struct MessageIds {
  std::string id = new_id("msg_");
  std::string model;
};

void stream_message(ServerState& state, const ParsedRequest& parsed,
                    std::shared_ptr<ActiveRequest> active, MessageIds ids, BodyWriter& out) {
  OutputSplitter splitter(parsed.tools);
  json start = {{"type", "message_start"},
                {"message",
                 {{"id", ids.id}, {"type", "message"}, {"role", "assistant"}, {"model", ids.model},
                  {"content", json::array()}, {"stop_reason", nullptr}, {"stop_sequence", nullptr},
                  {"usage", {{"input_tokens", 0}, {"output_tokens", 0}}}}}};
  if (!out.write(sse_event("message_start", start))) {
    active->handle().cancel();
    ++state.counters.client_disconnects;
    return;
  }
  int index = -1;
  std::string open;  // the type of the open block, "" when none
  auto close_block = [&] {
    if (open.empty()) return true;
    open.clear();
    return out.write(sse_event("content_block_stop", {{"type", "content_block_stop"}, {"index", index}}));
  };
  auto open_block = [&](const std::string& type, json block) {
    if (!close_block()) return false;
    open = type;
    ++index;
    return out.write(sse_event("content_block_start",
                               {{"type", "content_block_start"}, {"index", index}, {"content_block", block}}));
  };
  auto delta = [&](json body) {
    return out.write(sse_event("content_block_delta",
                               {{"type", "content_block_delta"}, {"index", index}, {"delta", body}}));
  };
  const PumpResult result = pump_events(
      active->handle(), splitter,
      [&](const OutputDelta& d) {
        switch (d.kind) {
          case OutputDelta::Kind::reasoning:
            if (open != "thinking" && !open_block("thinking", {{"type", "thinking"}, {"thinking", ""}}))
              return false;
            return delta({{"type", "thinking_delta"}, {"thinking", d.text}});
          case OutputDelta::Kind::content:
            if (d.text.empty()) return true;
            if (open != "text" && !open_block("text", {{"type", "text"}, {"text", ""}})) return false;
            return delta({{"type", "text_delta"}, {"text", d.text}});
          case OutputDelta::Kind::tool_call:
            if (!open_block("tool_use", {{"type", "tool_use"}, {"id", new_id("toolu_")},
                                         {"name", d.call.name}, {"input", json::object()}}))
              return false;
            return delta({{"type", "input_json_delta"}, {"partial_json", d.call.arguments}});
        }
        return true;
      },
      [&] { return out.write(sse_event("ping", {{"type", "ping"}})); },
      std::chrono::milliseconds(state.options().heartbeat_ms));
  if (result.client_gone) {
    ++state.counters.client_disconnects;
    return;
  }
  if (result.done.stop == tightfit::StopReason::error) {
    out.write(sse_event("error", error_event(result.done.error)));
    return;
  }
  close_block();
  out.write(sse_event("message_delta",
                      {{"type", "message_delta"},
                       {"delta", {{"stop_reason", stop_reason(result.done, splitter.tool_calls())},
                                  {"stop_sequence", stop_sequence(result.done)}}},
                       {"usage", usage_json(result.done.usage, UsageShape::anthropic)}}));
  out.write(sse_event("message_stop", {{"type", "message_stop"}}));
}

void whole_message(ServerState& state, const ParsedRequest& parsed,
                   std::shared_ptr<ActiveRequest> active, MessageIds ids, BodyWriter& out) {
  OutputSplitter splitter(parsed.tools);
  json content = json::array();
  auto append_text = [&](const char* type, const std::string& text) {
    if (text.empty()) return;
    if (!content.empty() && content.back()["type"] == type) {
      content.back()[type] = content.back()[type].get<std::string>() + text;
    } else {
      json block = {{"type", type}, {type, text}};
      if (std::string(type) == "thinking") block["signature"] = "";
      content.push_back(block);
    }
  };
  const PumpResult result = pump_events(
      active->handle(), splitter,
      [&](const OutputDelta& d) {
        if (d.kind == OutputDelta::Kind::reasoning) append_text("thinking", d.text);
        if (d.kind == OutputDelta::Kind::content) append_text("text", d.text);
        if (d.kind == OutputDelta::Kind::tool_call)
          content.push_back({{"type", "tool_use"}, {"id", new_id("toolu_")}, {"name", d.call.name},
                             {"input", tool_input(d.call.arguments)}});
        return true;
      },
      [&] { return out.write(" "); }, std::chrono::milliseconds(state.options().heartbeat_ms));
  if (result.client_gone) {
    ++state.counters.client_disconnects;
    return;
  }
  json body = result.done.stop == tightfit::StopReason::error
                  ? error_event(result.done.error)
                  : json{{"id", ids.id}, {"type", "message"}, {"role", "assistant"},
                         {"model", ids.model}, {"content", content},
                         {"stop_reason", stop_reason(result.done, splitter.tool_calls())},
                         {"stop_sequence", stop_sequence(result.done)},
                         {"usage", usage_json(result.done.usage, UsageShape::anthropic)}};
  out.write(body.dump(-1, ' ', false, json::error_handler_t::replace));
}

}  // namespace

void answer_anthropic_message(ServerState& state, ParsedRequest parsed, httplib::Response& res) {
  std::shared_ptr<ActiveRequest> active = state.submit(std::move(parsed.request));
  MessageIds ids;
  ids.model = state.model_name();
  auto shared = std::make_shared<ParsedRequest>(std::move(parsed));
  stream_body(res, shared->stream ? "text/event-stream" : kJsonStreamType,
              [&state, shared, active, ids](BodyWriter& out) {
                if (shared->stream) stream_message(state, *shared, active, ids, out);
                else whole_message(state, *shared, active, ids, out);
              });
}

void answer_anthropic_count_tokens(ServerState& state, ParsedRequest parsed, httplib::Response& res) {
  send_json(res, 200, {{"input_tokens", state.count_prompt_tokens(parsed.request)}});
}

}  // namespace tf::server
