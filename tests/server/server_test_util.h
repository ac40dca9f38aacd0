// A Server on a loopback port with a FakeEngine behind it, and helpers to read its answers.
#pragma once

#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "server/fake_engine.h"
#include "server/server.h"

namespace tf::server::testing {

class ServerFixture : public ::testing::Test {
 protected:
  // Starts serving; with `hold_loading`, the engine "loads" until release_loading().
  void start(ServerOptions options = {}, bool hold_loading = false) {
    options.host = "127.0.0.1";
    options.port = 0;
    options.heartbeat_ms = 50;
    engine = std::make_shared<FakeEngine>();
    std::shared_future<void> gate = loaded_.get_future().share();
    if (!hold_loading) loaded_.set_value();
    server = std::make_unique<Server>(options, [this, gate] {
      gate.wait();
      return std::shared_ptr<tightfit::Engine>(engine);
    });
    port = server->bind();
    serving = std::thread([this] { server->serve(); });
    if (!hold_loading) wait_until_ready();
  }
  void release_loading() {
    loaded_.set_value();
    wait_until_ready();
  }
  void wait_until_ready() {
    for (int i = 0; i < 500 && !server->ready(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    ASSERT_TRUE(server->ready());
  }
  void TearDown() override {
    try {
      loaded_.set_value();  // a test that failed while loading was held
    } catch (const std::future_error&) {
    }
    if (server) server->stop();
    if (serving.joinable()) serving.join();
    server.reset();
  }

  httplib::Client client() const {
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(10, 0);
    return c;
  }
  httplib::Result post(const std::string& path, const nlohmann::json& body,
                       const httplib::Headers& headers = {}) const {
    return client().Post(path.c_str(), headers, body.dump(), "application/json");
  }

  std::shared_ptr<FakeEngine> engine;
  std::unique_ptr<Server> server;
  std::thread serving;
  int port = 0;

 private:
  std::promise<void> loaded_;
};

// The `data:` payloads of an SSE body ("[DONE]" kept as a string), and the event names.
struct SseStream {
  std::vector<nlohmann::json> data;
  std::vector<std::string> events;
  bool done = false;  // ended with data: [DONE]
};

inline SseStream parse_sse(const std::string& body) {
  SseStream stream;
  size_t start = 0;
  while (start < body.size()) {
    size_t end = body.find('\n', start);
    if (end == std::string::npos) end = body.size();
    const std::string line = body.substr(start, end - start);
    start = end + 1;
    if (line.rfind("event: ", 0) == 0) stream.events.push_back(line.substr(7));
    if (line.rfind("data: ", 0) != 0) continue;
    const std::string payload = line.substr(6);
    if (payload == "[DONE]") {
      stream.done = true;
      continue;
    }
    EXPECT_FALSE(stream.done) << "data after [DONE]";
    stream.data.push_back(nlohmann::json::parse(payload));
  }
  return stream;
}

inline nlohmann::json user_chat(const std::string& text, bool stream = false) {
  return {{"model", "any"}, {"messages", {{{"role", "user"}, {"content", text}}}}, {"stream", stream}};
}

}  // namespace tf::server::testing
