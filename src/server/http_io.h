// Writing answers with cpp-httplib: JSON bodies, errors in the API's shape, and bodies written
// while the request runs (SSE streams, and non-streaming answers that send a space now and then
// so a client that went away is noticed). Server-sent events framing follows the HTML standard
// (https://html.spec.whatwg.org/multipage/server-sent-events.html): `data: <json>\n\n`, an
// optional `event: <name>` line before it (Anthropic), and `: comment` lines clients ignore.
#pragma once

#include <functional>
#include <string>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "server/api_error.h"

namespace tf::server {

enum class ApiShape { openai, anthropic };

void send_json(httplib::Response& res, int status, const nlohmann::json& body);
// The error in the API's shape; a 503 also gets Retry-After.
void send_error(httplib::Response& res, const ApiError& error, ApiShape shape);

// One write of a body being streamed; false once the client is gone (every later write too).
class BodyWriter {
 public:
  explicit BodyWriter(httplib::DataSink& sink) : sink_(sink) {}
  bool write(const std::string& bytes);
  bool ok() const { return ok_; }

 private:
  httplib::DataSink& sink_;
  bool ok_ = true;
};

// The response's body is written by `produce` once the handler has returned (status 200, chunked).
void stream_body(httplib::Response& res, const std::string& content_type,
                 std::function<void(BodyWriter&)> produce);

std::string sse_data(const nlohmann::json& payload);                           // data: ...\n\n
std::string sse_event(const std::string& name, const nlohmann::json& payload);  // event: + data:
// The type of a whole JSON answer written while it runs. With the charset parameter httplib
// does not gzip it (it compresses only the bare type), so each heartbeat space reaches the socket.
inline constexpr const char* kJsonStreamType = "application/json; charset=utf-8";
inline constexpr const char* kSseDone = "data: [DONE]\n\n";
inline constexpr const char* kSseHeartbeat = ": keep-alive\n\n";

}  // namespace tf::server
