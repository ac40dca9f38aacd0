// What every route handler shares: the options, the engine (absent while it loads), the
// requests in flight (so SIGINT/SIGTERM can cancel them) and the server's own counters.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "server/server_options.h"
#include "tightfit/tightfit.h"

namespace tf::server {

class ServerState;

// A submitted request, registered with the state until it is destroyed.
class ActiveRequest {
 public:
  ActiveRequest(ServerState& state, tightfit::RequestHandle handle);
  ~ActiveRequest();
  ActiveRequest(const ActiveRequest&) = delete;
  ActiveRequest& operator=(const ActiveRequest&) = delete;
  tightfit::RequestHandle& handle() { return handle_; }

 private:
  ServerState& state_;
  tightfit::RequestHandle handle_;
};

struct ServerCounters {
  std::atomic<int64_t> http_requests{0};
  std::atomic<int64_t> rejected{0};          // 4xx/5xx answers
  std::atomic<int64_t> client_disconnects{0};
};

class ServerState {
 public:
  explicit ServerState(ServerOptions options) : options_(std::move(options)) {}

  const ServerOptions& options() const { return options_; }
  // The engine once loaded; nullptr while loading (or after a failed load).
  std::shared_ptr<tightfit::Engine> engine() const;
  void set_engine(std::shared_ptr<tightfit::Engine> engine);
  // The name clients see: --served-model-name, else the model's name.
  std::string model_name() const;

  // Submits to the engine. Throws ApiError: 503 while loading, stopping or when the queue is
  // full; 400 for a request the engine refuses (InvalidRequest, OutOfMemory).
  std::shared_ptr<ActiveRequest> submit(tightfit::Request request);

  // The prompt tokens the request would take (Anthropic's count_tokens); errors as submit's.
  int64_t count_prompt_tokens(const tightfit::Request& request);

  // SIGINT/SIGTERM: refuse new requests, cancel those in flight.
  void stop_and_cancel_all();
  bool stopping() const { return stopping_; }

  ServerCounters counters;

 private:
  friend class ActiveRequest;
  std::shared_ptr<tightfit::Engine> ready_engine() const;  // 503 while loading or stopping
  ServerOptions options_;
  mutable std::mutex mutex_;
  std::shared_ptr<tightfit::Engine> engine_;
  std::set<ActiveRequest*> active_;
  std::atomic<bool> stopping_{false};
};

}  // namespace tf::server
