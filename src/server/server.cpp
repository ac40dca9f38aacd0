#include "server/server.h"

#include <algorithm>
#include <chrono>
#include <iostream>

#include "base/json_read.h"
#include "server/http_io.h"
#include "server/metrics.h"
#include "server/openai_format.h"
#include "server/parsed_request.h"
#include "server/routes.h"

namespace tf::server {
namespace {

using ParseFn = ParsedRequest (*)(const Json&, const ServerOptions&);
using AnswerFn = void (*)(ServerState&, ParsedRequest, httplib::Response&);

ApiShape shape_of(const std::string& path) {
  return path.rfind("/v1/messages", 0) == 0 ? ApiShape::anthropic : ApiShape::openai;
}

Json parse_body(const httplib::Request& req) {
  if (req.body.empty()) throw bad_request("the request body is empty: send a JSON object");
  try {
    return tf::parse_json(req.body, "request body");
  } catch (const std::exception& e) {
    throw bad_request(std::string(e.what()));
  }
}

// The key, from "Authorization: Bearer KEY" (OpenAI) or "x-api-key: KEY" (Anthropic).
bool authorized(const httplib::Request& req, const std::string& key) {
  const std::string bearer = req.get_header_value("Authorization");
  if (bearer == "Bearer " + key) return true;
  return req.get_header_value("x-api-key") == key;
}

}  // namespace

Server::Server(ServerOptions options, EngineLoader loader)
    : state_(std::move(options)), loader_(std::move(loader)) {
  const ServerOptions& o = state_.options();
  // One thread per connection: a streaming request holds its thread to the end, so the pool
  // holds every request the engine may accept (decoding + queued) and a few for /health.
  const size_t threads = o.http_threads > 0 ? static_cast<size_t>(o.http_threads)
                                            : static_cast<size_t>(std::max(0, o.parallel + o.max_queue)) + 4;
  http_.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  http_.set_payload_max_length(o.max_body_bytes);
  http_.set_keep_alive_timeout(2);
  add_routes();
}

Server::~Server() {
  stop();
  if (loader_thread_.joinable()) loader_thread_.join();
}

int Server::bind() {
  const ServerOptions& o = state_.options();
  int port = o.port;
  if (port == 0) {
    port = http_.bind_to_any_port(o.host);
    if (port < 0) throw std::runtime_error("cannot listen on " + o.host + ": no free port");
  } else if (!http_.bind_to_port(o.host, port)) {
    throw std::runtime_error("cannot listen on " + o.host + ":" + std::to_string(port) +
                             " (in use by another program, or not an address of this machine); "
                             "pick another with --port / --host");
  }
  loader_thread_ = std::thread([this] { load_engine(); });
  return port;
}

void Server::load_engine() {
  try {
    std::shared_ptr<tightfit::Engine> engine = loader_();
    state_.set_engine(std::move(engine));
  } catch (...) {
    {
      std::lock_guard lock(load_mutex_);
      load_error_ = std::current_exception();
    }
    stop();
  }
}

void Server::serve() {
  serving_ = true;
  if (!stop_requested_) http_.listen_after_bind();
  serving_ = false;
  if (loader_thread_.joinable()) loader_thread_.join();
  std::lock_guard lock(load_mutex_);
  if (load_error_) std::rethrow_exception(load_error_);
}

void Server::stop() {
  stop_requested_ = true;
  state_.stop_and_cancel_all();
  // httplib's stop() does nothing before its listen loop runs: when serve() has begun, wait
  // (briefly) for the loop; when it has not, serve() sees stop_requested_ and returns.
  for (int i = 0; i < 200 && serving_ && !http_.is_running(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  http_.stop();
}

void Server::add_routes() {
  ServerState& state = state_;

  http_.set_pre_routing_handler([&state](const httplib::Request& req, httplib::Response& res) {
    ++state.counters.http_requests;
    const std::string& key = state.options().api_key;
    if (key.empty() || req.path == "/health" || req.path == "/v1/health" || authorized(req, key))
      return httplib::Server::HandlerResponse::Unhandled;
    send_error(res,
               ApiError(401, "missing or wrong API key: send 'Authorization: Bearer <key>'",
                        "authentication_error", "", "invalid_api_key"),
               shape_of(req.path));
    return httplib::Server::HandlerResponse::Handled;
  });

  // Statuses httplib sets itself (404 no route, 413 body too large, 400 bad HTTP) get a body in
  // the API's error shape; answers that already carry one keep it.
  http_.set_error_handler(httplib::Server::HandlerWithResponse(
      [&state](const httplib::Request& req, httplib::Response& res) {
    ++state.counters.rejected;
    if (!res.body.empty() || res.content_provider_) return httplib::Server::HandlerResponse::Unhandled;
    std::string message = "HTTP " + std::to_string(res.status);
    std::string type = "invalid_request_error";
    if (res.status == 404) message = "no route " + req.method + " " + req.path;
    if (res.status == 405) message = "method " + req.method + " not allowed on " + req.path;
    if (res.status == 413)
      message = "the request body is larger than the server's --max-body (" +
                std::to_string(state.options().max_body_bytes) + " bytes)";
    if (res.status >= 500) type = "server_error";
    send_error(res, ApiError(res.status, message, type), shape_of(req.path));
    return httplib::Server::HandlerResponse::Handled;
  }));

  http_.set_exception_handler([](const httplib::Request& req, httplib::Response& res, std::exception_ptr e) {
    std::string message = "internal error";
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& error) {
      message = error.what();
    } catch (...) {
    }
    send_error(res, ApiError(500, message, "server_error"), shape_of(req.path));
  });

  auto health = [&state](const httplib::Request&, httplib::Response& res) {
    if (state.engine()) {
      send_json(res, 200, {{"status", "ok"}});
    } else {
      send_error(res, ApiError(503, "Loading model", "unavailable_error"), ApiShape::openai);
    }
  };
  http_.Get("/health", health);
  http_.Get("/v1/health", health);

  auto models = [&state](const httplib::Request&, httplib::Response& res) {
    Json model = {{"id", state.model_name()}, {"object", "model"}, {"created", unix_time()},
                  {"owned_by", "tightfit"}};
    if (std::shared_ptr<tightfit::Engine> engine = state.engine()) {
      const tightfit::ModelInfo& info = engine->info();
      model["meta"] = {{"context_length", info.context_length}, {"vocab_size", info.vocab_size},
                       {"vision", info.has_vision}, {"bits_per_weight", info.bits_per_weight}};
    }
    send_json(res, 200, {{"object", "list"}, {"data", Json::array({model})}});
  };
  http_.Get("/v1/models", models);
  http_.Get("/models", models);

  http_.Get("/metrics", [&state](const httplib::Request&, httplib::Response& res) {
    std::optional<tightfit::EngineStats> stats;
    if (std::shared_ptr<tightfit::Engine> engine = state.engine()) stats = engine->stats();
    res.set_content(prometheus_text(stats, state.counters), "text/plain; version=0.0.4");
  });

  auto generation = [&state](ApiShape shape, ParseFn parse, AnswerFn answer) {
    return [&state, shape, parse, answer](const httplib::Request& req, httplib::Response& res) {
      try {
        ParsedRequest parsed = parse(parse_body(req), state.options());
        answer(state, std::move(parsed), res);
      } catch (const ApiError& e) {
        send_error(res, e, shape);
      } catch (const tightfit::Error& e) {
        send_error(res, ApiError(500, e.what(), "server_error"), shape);
      }
    };
  };
  for (const char* path : {"/v1/chat/completions", "/chat/completions"})
    http_.Post(path, generation(ApiShape::openai, parse_chat_request, answer_chat_completion));
  for (const char* path : {"/v1/completions", "/completions"})
    http_.Post(path, generation(ApiShape::openai, parse_completion_request, answer_completion));
  http_.Post("/v1/messages", generation(ApiShape::anthropic, parse_anthropic_request, answer_anthropic_message));
  http_.Post("/v1/messages/count_tokens",
             generation(ApiShape::anthropic, parse_anthropic_request, answer_anthropic_count_tokens));
}

}  // namespace tf::server
