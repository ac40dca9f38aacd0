// A tightfit::Engine without a model, for the server's tests: each submitted request gets a
// scripted list of events, produced on a thread of its own with a delay between them, and
// stops with a `cancelled` done event as soon as the handle is cancelled (as the real engine
// does at its next token). It records the requests it was given and how many were cancelled.
#pragma once

#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tightfit/tightfit.h"

namespace tf::server::testing {

struct Script {
  std::vector<tightfit::Event> events;  // reasoning / answer events
  tightfit::Event done;                 // kind is set to done
  int delay_ms = 0;                     // before each event
};

tightfit::Event reasoning(std::string text);
tightfit::Event answer(std::string text);
// done with the usage filled in: prompt 10 (4 cached), completion = number of events.
Script script(std::vector<tightfit::Event> events,
              tightfit::StopReason stop = tightfit::StopReason::eos, int delay_ms = 0);

class FakeEngine : public tightfit::Engine {
 public:
  FakeEngine();
  ~FakeEngine() override;

  // What a request produces; by default one answer event "Hello!".
  std::function<Script(const tightfit::Request&)> respond;
  // Thrown from submit() when set (Busy, InvalidRequest, ...).
  std::function<void(const tightfit::Request&)> refuse;

  tightfit::RequestHandle submit(tightfit::Request request) override;
  const tightfit::ModelInfo& info() const override { return info_; }
  tightfit::EngineStats stats() const override;
  std::vector<int32_t> encode(std::string_view text) const override;
  std::string decode(std::span<const int32_t> tokens, bool skip_special_tokens) const override;
  std::string token_text(int32_t token) const override { return "t" + std::to_string(token); }
  std::string apply_chat_template(const tightfit::Request& request,
                                  bool add_generation_prompt) const override;
  // One token per character of the messages' text (throws like submit when refused).
  int64_t count_prompt_tokens(const tightfit::Request& request) const override;
  bool score(std::span<const int32_t>, int64_t,
             const std::function<void(int64_t, std::span<const float>)>&,
             const std::function<void(int64_t, std::span<const float>)>&,
             const std::atomic<bool>*) override {
    return false;
  }

  std::vector<tightfit::Request> requests() const;
  int cancelled() const { return cancelled_; }
  int finished() const { return finished_; }
  int running() const { return submitted_ - finished_; }

 private:
  tightfit::ModelInfo info_;
  mutable std::mutex mutex_;
  std::vector<tightfit::Request> requests_;
  std::vector<std::thread> threads_;
  std::atomic<int> submitted_{0}, cancelled_{0}, finished_{0};
};

}  // namespace tf::server::testing
