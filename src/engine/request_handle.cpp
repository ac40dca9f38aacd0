// RequestState's event queue and the RequestHandle that reads it (include/tightfit/tightfit.h).
#include <utility>

#include "engine/request_state.h"

namespace tightfit {

void RequestState::push(Event event) {
  {
    std::lock_guard lock(mutex_);
    if (done_pushed_) return;
    done_pushed_ = event.kind == EventKind::done;
    events_.push_back(std::move(event));
  }
  ready_.notify_all();
}

bool RequestState::done_pushed() const {
  std::lock_guard lock(mutex_);
  return done_pushed_;
}

std::optional<Event> RequestState::next(std::optional<std::chrono::milliseconds> timeout) {
  std::unique_lock lock(mutex_);
  if (done_returned_) return std::nullopt;
  const auto has_event = [&] { return !events_.empty(); };
  if (timeout) {
    if (!ready_.wait_for(lock, *timeout, has_event)) return std::nullopt;
  } else {
    ready_.wait(lock, has_event);
  }
  Event event = std::move(events_.front());
  events_.pop_front();
  if (event.kind == EventKind::done) done_returned_ = true;
  return event;
}

bool RequestState::finished() const {
  std::lock_guard lock(mutex_);
  return done_returned_;
}

RequestHandle::RequestHandle(std::shared_ptr<RequestState> state) : state_(std::move(state)) {}

RequestHandle::~RequestHandle() {
  // A handle dropped before the end: nobody reads the rest, so stop computing it.
  if (state_ && !state_->finished()) state_->cancel();
}

std::optional<Event> RequestHandle::next() {
  if (!state_) return std::nullopt;
  return state_->next(std::nullopt);
}

std::optional<Event> RequestHandle::next_for(std::chrono::milliseconds timeout) {
  if (!state_) return std::nullopt;
  return state_->next(timeout);
}

bool RequestHandle::finished() const { return !state_ || state_->finished(); }

void RequestHandle::cancel() {
  if (state_) state_->cancel();
}

Result RequestHandle::wait() {
  Result result;
  while (std::optional<Event> event = next()) {
    result.tokens.insert(result.tokens.end(), event->tokens.begin(), event->tokens.end());
    result.logprobs.insert(result.logprobs.end(), event->logprobs.begin(), event->logprobs.end());
    switch (event->kind) {
      case EventKind::reasoning: result.reasoning += event->text; break;
      case EventKind::answer: result.text += event->text; break;
      case EventKind::done:
        result.stop = event->stop;
        result.stop_string = std::move(event->stop_string);
        result.error = std::move(event->error);
        result.notice = std::move(event->notice);
        result.max_tokens = event->max_tokens;
        result.usage = event->usage;
        result.timing = event->timing;
        break;
    }
  }
  return result;
}

}  // namespace tightfit
