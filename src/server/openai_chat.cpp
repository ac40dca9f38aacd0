// POST /v1/chat/completions: the answer as a chat.completion object, or streamed as
// chat.completion.chunk events: a role delta first, then reasoning_content / content /
// tool_calls deltas, one chunk carrying the finish_reason, an optional usage chunk
// (stream_options.include_usage) and `data: [DONE]`.
#include <chrono>

#include "server/http_io.h"
#include "server/openai_format.h"
#include "server/routes.h"

namespace tf::server {
namespace {

struct ChatIds {
  std::string id = new_id("chatcmpl-");
  int64_t created = unix_time();
  std::string model;
};

nlohmann::json chunk(const ChatIds& ids, nlohmann::json delta, nlohmann::json finish,
                     nlohmann::json logprobs = nullptr) {
  return {{"id", ids.id},
          {"object", "chat.completion.chunk"},
          {"created", ids.created},
          {"model", ids.model},
          {"choices",
           {{{"index", 0}, {"delta", std::move(delta)}, {"logprobs", std::move(logprobs)},
             {"finish_reason", std::move(finish)}}}}};
}

void stream_chat(ServerState& state, const ParsedRequest& parsed,
                 std::shared_ptr<ActiveRequest> active, ChatIds ids, BodyWriter& out) {
  std::shared_ptr<tightfit::Engine> engine = state.engine();
  OutputSplitter splitter(parsed.tools);
  const auto heartbeat = std::chrono::milliseconds(state.options().heartbeat_ms);
  if (!out.write(sse_data(chunk(ids, {{"role", "assistant"}, {"content", ""}}, nullptr)))) {
    active->handle().cancel();
    ++state.counters.client_disconnects;
    return;
  }
  const PumpResult result = pump_events(
      active->handle(), splitter,
      [&](const OutputDelta& delta) {
        nlohmann::json json;
        switch (delta.kind) {
          case OutputDelta::Kind::reasoning: json = {{"reasoning_content", delta.text}}; break;
          case OutputDelta::Kind::content: json = {{"content", delta.text}}; break;
          case OutputDelta::Kind::tool_call:
            json = {{"tool_calls", {tool_call_json(delta, new_id("call_"))}}};
            break;
        }
        nlohmann::json logprobs = nullptr;
        if (parsed.logprobs && !delta.logprobs.empty())
          logprobs = chat_logprobs_json(delta.logprobs, *engine);
        return out.write(sse_data(chunk(ids, std::move(json), nullptr, std::move(logprobs))));
      },
      [&] { return out.write(kSseHeartbeat); }, heartbeat);
  if (result.client_gone) {
    ++state.counters.client_disconnects;
    return;
  }
  if (result.done.stop == tightfit::StopReason::error) {
    out.write(sse_data(openai_error_body(ApiError(500, result.done.error, "server_error"))));
    out.write(kSseDone);
    return;
  }
  out.write(sse_data(chunk(ids, nlohmann::json::object(), finish_reason(result.done, splitter.tool_calls()))));
  if (parsed.include_usage)
    out.write(sse_data(usage_chunk(chunk(ids, nullptr, nullptr), result.done.usage)));
  out.write(kSseDone);
}

void whole_chat(ServerState& state, const ParsedRequest& parsed,
                std::shared_ptr<ActiveRequest> active, ChatIds ids, BodyWriter& out) {
  std::shared_ptr<tightfit::Engine> engine = state.engine();
  OutputSplitter splitter(parsed.tools);
  std::string reasoning, content;
  nlohmann::json tool_calls = nlohmann::json::array();
  std::vector<tightfit::TokenLogprob> logprobs;
  const PumpResult result = pump_events(
      active->handle(), splitter,
      [&](const OutputDelta& delta) {
        if (delta.kind == OutputDelta::Kind::reasoning) reasoning += delta.text;
        if (delta.kind == OutputDelta::Kind::content) content += delta.text;
        if (delta.kind == OutputDelta::Kind::tool_call) {
          nlohmann::json call = tool_call_json(delta, new_id("call_"));
          call.erase("index");
          tool_calls.push_back(std::move(call));
        }
        logprobs.insert(logprobs.end(), delta.logprobs.begin(), delta.logprobs.end());
        return true;
      },
      // JSON allows whitespace before the value: a space is a harmless heartbeat.
      [&] { return out.write(" "); }, std::chrono::milliseconds(state.options().heartbeat_ms));
  if (result.client_gone) {
    ++state.counters.client_disconnects;
    return;
  }
  if (result.done.stop == tightfit::StopReason::error) {
    out.write(openai_error_body(ApiError(500, result.done.error, "server_error")).dump());
    return;
  }
  nlohmann::json message = {{"role", "assistant"}, {"content", content}};
  if (!reasoning.empty()) message["reasoning_content"] = reasoning;
  if (!tool_calls.empty()) {
    message["tool_calls"] = tool_calls;
    if (content.empty()) message["content"] = nullptr;
  }
  nlohmann::json choice = {{"index", 0},
                           {"message", message},
                           {"logprobs", nullptr},
                           {"finish_reason", finish_reason(result.done, splitter.tool_calls())}};
  if (parsed.logprobs) choice["logprobs"] = chat_logprobs_json(logprobs, *engine);
  const nlohmann::json body = {{"id", ids.id},
                               {"object", "chat.completion"},
                               {"created", ids.created},
                               {"model", ids.model},
                               {"choices", {choice}},
                               {"usage", usage_json(result.done.usage)}};
  out.write(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

}  // namespace

void answer_chat_completion(ServerState& state, ParsedRequest parsed, httplib::Response& res) {
  std::shared_ptr<ActiveRequest> active = state.submit(std::move(parsed.request));
  ChatIds ids;
  ids.model = state.model_name();
  auto shared = std::make_shared<ParsedRequest>(std::move(parsed));  // the response settings
  if (shared->stream) {
    stream_body(res, "text/event-stream", [&state, shared, active, ids](BodyWriter& out) {
      stream_chat(state, *shared, active, ids, out);
    });
  } else {
    stream_body(res, kJsonStreamType, [&state, shared, active, ids](BodyWriter& out) {
      whole_chat(state, *shared, active, ids, out);
    });
  }
}

}  // namespace tf::server
