#include "server/http_io.h"

namespace tf::server {

namespace {
// Invalid UTF-8 (a client's bytes echoed in an error message) is replaced, never thrown on.
std::string dump(const nlohmann::json& body) {
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}
}  // namespace

void send_json(httplib::Response& res, int status, const nlohmann::json& body) {
  res.status = status;
  res.set_content(dump(body), "application/json");
}

void send_error(httplib::Response& res, const ApiError& error, ApiShape shape) {
  send_json(res, error.status,
            shape == ApiShape::openai ? openai_error_body(error) : anthropic_error_body(error));
  if (error.status == 503) res.set_header("Retry-After", "1");
}

bool BodyWriter::write(const std::string& bytes) {
  if (!ok_) return false;
  if (!sink_.is_writable() || !sink_.write(bytes.data(), bytes.size())) ok_ = false;
  return ok_;
}

void stream_body(httplib::Response& res, const std::string& content_type,
                 std::function<void(BodyWriter&)> produce) {
  res.status = 200;
  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Accel-Buffering", "no");  // proxies: do not buffer the stream
  res.set_chunked_content_provider(
      content_type, [produce = std::move(produce)](size_t, httplib::DataSink& sink) {
        BodyWriter writer(sink);
        produce(writer);
        if (!writer.ok()) return false;  // closes the connection
        sink.done();
        return true;
      });
}

std::string sse_data(const nlohmann::json& payload) { return "data: " + dump(payload) + "\n\n"; }

std::string sse_event(const std::string& name, const nlohmann::json& payload) {
  return "event: " + name + "\n" + sse_data(payload);
}

}  // namespace tf::server
