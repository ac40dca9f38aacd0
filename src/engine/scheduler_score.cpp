// The Scheduler's score() jobs (engine/scheduler.h): queued by Engine::score, started when
// their tokens fit the memory budget beside the running requests, fed one chunk per step through
// a scratch sequence, their rows handed to the caller's callbacks on the worker thread.
#include "engine/scheduler.h"

namespace tightfit {

bool Scheduler::score(ScoreJob& job) {
  std::unique_lock lock(mutex_);
  if (stopping_) return false;
  jobs_.push_back(&job);
  wake_.notify_all();
  job_done_.wait(lock, [&] { return job.done; });
  if (job.error) std::rethrow_exception(job.error);
  return job.completed;
}

void Scheduler::process_score(const tf::BatchItem& item, size_t output) {
  ScoreJob& job = *job_;
  const int64_t n = item.count();
  try {
    if (item.logits == tf::OutputRows::All) {
      const std::span<const float> logits = pass_.logits(output);
      const std::span<const float> hidden = pass_.hidden(output);
      const size_t V = logits.size() / static_cast<size_t>(n);
      const size_t H = hidden.size() / static_cast<size_t>(n);
      for (int64_t r = 0; r < n; ++r) {
        const int64_t row = job.fed + r;
        if (row < job.first_row) continue;
        if (job.on_row && *job.on_row) (*job.on_row)(row, logits.subspan(r * V, V));
        if (!hidden.empty()) (*job.on_hidden)(row, hidden.subspan(r * H, H));
      }
    }
  } catch (...) {
    job.error = std::current_exception();
    finish_job(job);
    return;
  }
  job.fed += n;
  if (job.fed == static_cast<int64_t>(job.tokens.size())) {
    job.completed = true;
    finish_job(job);
  }
}

void Scheduler::finish_job(ScoreJob& job) {
  if (job_ == &job && score_sequence_) score_sequence_->reset();  // its memory goes back now
  {
    std::lock_guard lock(mutex_);
    budget_.release(job.reserved);
    job.reserved = 0;
    job.done = true;
    if (job_ == &job) job_ = nullptr;
  }
  job_done_.notify_all();
}

}  // namespace tightfit
