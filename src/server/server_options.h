// What `tightfit serve` is told on its command line: where to listen, who may call it, what a
// request may carry, and the defaults a request's own fields override (the model card's
// `--temp 0.7 --top-p 0.8 --top-k 20 --chat-template-args '{"enable_thinking": false}'`).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "tightfit/tightfit.h"

namespace tf::server {

// Server-wide defaults, each overridable per request.
struct RequestDefaults {
  tightfit::SamplingParams sampling;      // --temp, --top-p, --top-k, --min-p, --presence-penalty, ...
  std::optional<int> max_tokens;          // --max-tokens
  nlohmann::json template_kwargs = nlohmann::json::object();  // --chat-template-args
  std::string system;                     // --system: used when a request has no system message
  std::optional<int> thinking_budget;     // --reasoning-budget (unset or -1: unlimited)
};

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;                        // 0: any free port (tests)
  std::string api_key;                    // empty: no authentication
  size_t max_body_bytes = 64u << 20;      // --max-body: larger bodies are 413
  std::string served_model_name;          // empty: the model's name
  bool allow_local_images = false;        // image_url naming a file on this machine
  bool allow_remote_images = false;       // image_url naming an http(s) URL (downloaded)
  size_t max_image_bytes = 20u << 20;     // a downloaded or decoded image's size limit
  int http_threads = 0;                   // 0: parallel + max_queue + a few (every request a thread)
  int parallel = 4;                       // mirrors EngineOptions (sizes the HTTP thread pool)
  int max_queue = 64;
  // A streaming answer that produced nothing for this long gets an SSE comment (a non-streaming
  // one a space before its JSON), so a client that went away is noticed and its request
  // cancelled even during a long prompt.
  int heartbeat_ms = 1000;
  RequestDefaults defaults;
};

}  // namespace tf::server
