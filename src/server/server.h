// `tightfit serve`'s HTTP server: OpenAI's chat completions, completions and models routes,
// Anthropic's messages route, /health and /metrics, on cpp-httplib. The socket is bound first
// and the model loaded on a background thread, so /health answers 503 while it loads and 200
// once it is ready. stop() (SIGINT/SIGTERM) stops accepting and cancels what is in flight.
#pragma once

#include <atomic>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include <httplib.h>

#include "server/server_options.h"
#include "server/server_state.h"
#include "tightfit/tightfit.h"

namespace tf::server {

class Server {
 public:
  using EngineLoader = std::function<std::shared_ptr<tightfit::Engine>()>;
  Server(ServerOptions options, EngineLoader loader);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds host:port (throws std::runtime_error saying so when it cannot) and starts loading the
  // engine. Returns the port (the one picked when options.port is 0).
  int bind();
  // Serves until stop(), then waits for the handlers to return. Rethrows a failed load.
  void serve();
  // From any thread: refuse new requests, cancel those in flight, stop accepting.
  void stop();

  bool ready() const { return state_.engine() != nullptr; }
  ServerState& state() { return state_; }

 private:
  void add_routes();
  void load_engine();

  ServerState state_;
  EngineLoader loader_;
  httplib::Server http_;
  std::thread loader_thread_;
  std::mutex load_mutex_;
  std::exception_ptr load_error_;
  std::atomic<bool> serving_{false}, stop_requested_{false};
};

}  // namespace tf::server
