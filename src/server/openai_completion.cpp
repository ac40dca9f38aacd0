// POST /v1/completions: a raw prompt's continuation as a text_completion object, or streamed as
// text_completion chunks ending with one finish_reason, an optional usage chunk and
// `data: [DONE]` (https://platform.openai.com/docs/api-reference/completions/object).
#include <chrono>

#include "server/http_io.h"
#include "server/openai_format.h"
#include "server/routes.h"

namespace tf::server {
namespace {

struct CompletionIds {
  std::string id = new_id("cmpl-");
  int64_t created = unix_time();
  std::string model;
};

nlohmann::json completion_object(const CompletionIds& ids, std::string text, nlohmann::json finish,
                                 nlohmann::json logprobs) {
  return {{"id", ids.id},
          {"object", "text_completion"},
          {"created", ids.created},
          {"model", ids.model},
          {"choices",
           {{{"index", 0}, {"text", std::move(text)}, {"logprobs", std::move(logprobs)},
             {"finish_reason", std::move(finish)}}}}};
}

void produce_completion(ServerState& state, const ParsedRequest& parsed,
                        std::shared_ptr<ActiveRequest> active, CompletionIds ids, BodyWriter& out) {
  std::shared_ptr<tightfit::Engine> engine = state.engine();
  OutputSplitter splitter(nlohmann::json::array());  // no tools: all text
  std::string text;
  std::vector<tightfit::TokenLogprob> logprobs;
  auto logprobs_of = [&](const std::vector<tightfit::TokenLogprob>& entries) -> nlohmann::json {
    if (!parsed.logprobs) return nullptr;
    return completion_logprobs_json(entries, *engine);
  };
  const PumpResult result = pump_events(
      active->handle(), splitter,
      [&](const OutputDelta& delta) {
        // A raw prompt has no template to separate thinking: all of it is the text.
        if (!parsed.stream) {
          text += delta.text;
          logprobs.insert(logprobs.end(), delta.logprobs.begin(), delta.logprobs.end());
          return true;
        }
        return out.write(sse_data(completion_object(ids, delta.text, nullptr, logprobs_of(delta.logprobs))));
      },
      [&] { return out.write(parsed.stream ? kSseHeartbeat : " "); },
      std::chrono::milliseconds(state.options().heartbeat_ms));
  if (result.client_gone) {
    ++state.counters.client_disconnects;
    return;
  }
  const bool failed = result.done.stop == tightfit::StopReason::error;
  const nlohmann::json error = openai_error_body(ApiError(500, result.done.error, "server_error"));
  if (!parsed.stream) {
    nlohmann::json body = failed ? error
                                 : completion_object(ids, text, finish_reason(result.done, 0),
                                                     logprobs_of(logprobs));
    if (!failed) body["usage"] = usage_json(result.done.usage);
    out.write(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    return;
  }
  if (failed) {
    out.write(sse_data(error));
  } else {
    out.write(sse_data(completion_object(ids, "", finish_reason(result.done, 0), nullptr)));
    if (parsed.include_usage)
      out.write(sse_data(usage_chunk(completion_object(ids, "", nullptr, nullptr), result.done.usage)));
  }
  out.write(kSseDone);
}

}  // namespace

void answer_completion(ServerState& state, ParsedRequest parsed, httplib::Response& res) {
  std::shared_ptr<ActiveRequest> active = state.submit(std::move(parsed.request));
  CompletionIds ids;
  ids.model = state.model_name();
  auto shared = std::make_shared<ParsedRequest>(std::move(parsed));
  stream_body(res, shared->stream ? "text/event-stream" : kJsonStreamType,
              [&state, shared, active, ids](BodyWriter& out) {
                produce_completion(state, *shared, active, ids, out);
              });
}

}  // namespace tf::server
