// The engine's side of one request (include/tightfit/tightfit.h's RequestState): the queue of
// events the worker produces and the consumer's handle reads, and the cancel flag any thread
// may set. The worker pushes, one consumer pops; a mutex and a condition variable join them.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>

#include "tightfit/tightfit.h"

namespace tightfit {

class RequestState {
 public:
  // Worker side. Events after the done event are dropped.
  void push(Event event);
  bool done_pushed() const;

  // Consumer side: the next event, waiting at most `timeout` (nullopt: forever); nullopt once
  // the done event was returned, or when nothing came in time.
  std::optional<Event> next(std::optional<std::chrono::milliseconds> timeout);
  bool finished() const;  // the done event was returned

  void cancel() { cancelled_.store(true, std::memory_order_relaxed); }
  bool cancelled() const { return cancelled_.load(std::memory_order_relaxed); }
  const std::atomic<bool>* cancel_flag() const { return &cancelled_; }

 private:
  mutable std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<Event> events_;
  bool done_pushed_ = false;
  bool done_returned_ = false;
  std::atomic<bool> cancelled_{false};
};

}  // namespace tightfit
