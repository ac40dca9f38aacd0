#include "server/fake_engine.h"

#include <chrono>

#include "engine/request_state.h"

namespace tf::server::testing {

using tightfit::Event;
using tightfit::EventKind;

Event reasoning(std::string text) {
  Event event;
  event.kind = EventKind::reasoning;
  event.text = std::move(text);
  event.tokens = {1};
  return event;
}

Event answer(std::string text) {
  Event event;
  event.kind = EventKind::answer;
  event.text = std::move(text);
  event.tokens = {2};
  return event;
}

Script script(std::vector<Event> events, tightfit::StopReason stop, int delay_ms) {
  Script s;
  s.delay_ms = delay_ms;
  s.done.kind = EventKind::done;
  s.done.stop = stop;
  s.done.usage.prompt_tokens = 10;
  s.done.usage.cached_tokens = 4;
  s.done.usage.completion_tokens = static_cast<int64_t>(events.size());
  for (const Event& e : events)
    if (e.kind == EventKind::reasoning) ++s.done.usage.reasoning_tokens;
  s.events = std::move(events);
  return s;
}

FakeEngine::FakeEngine() {
  info_.name = "fake-model";
  info_.model_type = "fake";
  info_.context_length = 4096;
  info_.vocab_size = 100;
  respond = [](const tightfit::Request&) { return script({answer("Hello!")}); };
}

FakeEngine::~FakeEngine() {
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mutex_);
    threads.swap(threads_);
  }
  for (std::thread& t : threads) t.join();
}

tightfit::RequestHandle FakeEngine::submit(tightfit::Request request) {
  if (refuse) refuse(request);
  Script s = respond(request);
  auto state = std::make_shared<tightfit::RequestState>();
  ++submitted_;
  std::lock_guard lock(mutex_);
  requests_.push_back(std::move(request));
  threads_.emplace_back([this, state, s = std::move(s)]() mutable {
    for (Event& event : s.events) {
      if (s.delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(s.delay_ms));
      if (state->cancelled()) break;
      state->push(std::move(event));
    }
    Event done = s.done;
    if (state->cancelled()) {
      done.stop = tightfit::StopReason::cancelled;
      ++cancelled_;
    }
    ++finished_;
    state->push(std::move(done));
  });
  return tightfit::RequestHandle(state);
}

tightfit::EngineStats FakeEngine::stats() const {
  tightfit::EngineStats stats;
  stats.requests_total = submitted_;
  stats.requests_active = submitted_ - finished_;
  stats.generated_tokens_total = 42;
  stats.busy_seconds = 2;
  return stats;
}

std::vector<int32_t> FakeEngine::encode(std::string_view text) const {
  return std::vector<int32_t>(text.size(), 7);
}

std::string FakeEngine::decode(std::span<const int32_t> tokens, bool) const {
  return std::string(tokens.size(), 'x');
}

std::string FakeEngine::apply_chat_template(const tightfit::Request& request, bool) const {
  std::string text;
  for (const tightfit::Message& m : request.messages) text += m.role + ": " + m.text_content() + "\n";
  return text;
}

int64_t FakeEngine::count_prompt_tokens(const tightfit::Request& request) const {
  if (refuse) refuse(request);
  int64_t count = 0;
  for (const tightfit::Message& m : request.messages) count += static_cast<int64_t>(m.text_content().size());
  return count;
}

std::vector<tightfit::Request> FakeEngine::requests() const {
  std::lock_guard lock(mutex_);
  return requests_;
}

}  // namespace tf::server::testing
