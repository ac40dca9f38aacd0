// The engine's worker: one thread that owns the forward pass and up to EngineOptions::parallel
// sequences (slots, allocated once and reused), and runs continuous batching:
//
//   loop:  admit queued requests into free slots, in order, while their KV reservations fit the
//          memory limit beside the running ones (engine/memory_budget.h); the prompt cache
//          gives back what the new reservations need (images encoded, prompt cache restored)
//          drop cancelled requests
//          one forward batch = the next token of every generating request (a speculative
//                              one: that token and its MTP drafts, k + 1 rows)
//                            + one prefill chunk (≤ prefill_chunk tokens) of one prompt
//                            + one chunk of a score() job, if any
//          per request: sample, stop checks, stream events (engine/running_request.h);
//          save prompt-cache entries at a chat prompt's stable point and at a prompt's end
//
// Every weight is read once per batch, whatever the number of requests in it
// (model/forward_pass.h). An exception of one request ends that request (StopReason::error);
// the others go on.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <thread>
#include <vector>

#include "engine/engine_context.h"
#include "engine/memory_budget.h"
#include "engine/prepared_request.h"
#include "engine/prompt_cache.h"
#include "engine/request_state.h"
#include "engine/running_request.h"
#include "model/forward_pass.h"

namespace tightfit {

// A score() or score_continuations() call: its tokens go through a scratch sequence, one chunk
// per scheduler step. For continuations, `tokens` is the shared prefix (no rows wanted); the
// sequence is checkpointed after it and each continuation starts from that checkpoint.
struct ScoreJob {
  std::span<const int32_t> tokens;
  int64_t first_row = 0;
  const std::function<void(int64_t, std::span<const float>)>* on_row = nullptr;
  const std::function<void(int64_t, std::span<const float>)>* on_hidden = nullptr;
  std::span<const std::vector<int32_t>> continuations;
  const Engine::ContinuationRow* on_continuation_row = nullptr;
  const std::atomic<bool>* cancel = nullptr;
  // Worker side.
  int64_t reserved = 0;           // KV tokens reserved in the memory budget while it runs
  bool started = false;           // the scratch sequence was reset for this job
  int64_t fed = 0;                // of `tokens`
  size_t continuation = 0;        // the continuation being fed (once `tokens` are all fed)
  int64_t continuation_fed = 0;   // of continuations[continuation]
  tf::SequenceCheckpoint after_prefix;
  bool done = false;
  bool completed = false;  // every row was scored (false: cancelled)
  std::exception_ptr error;
};

class Scheduler {
 public:
  explicit Scheduler(const EngineContext& context);  // starts the worker thread
  ~Scheduler();  // cancels every request and job, joins the worker

  // Queues a prepared request. Throws Busy when parallel + max_queue requests are in already.
  void enqueue(std::shared_ptr<RequestState> state, PreparedRequest prepared);
  // Runs a score job between scheduler steps and waits for it; rethrows the job's exception.
  bool score(ScoreJob& job);

  EngineStats stats() const;

 private:
  struct Slot {
    std::unique_ptr<tf::Sequence> sequence;
    std::unique_ptr<RunningRequest> request;
    uint64_t admitted = 0;  // admission order: the oldest prompt is prefilled first
    int64_t reserved = 0;   // KV tokens reserved in the memory budget
    int32_t feed = 0;       // the token fed in this step
  };
  struct Queued {
    std::shared_ptr<RequestState> state;
    PreparedRequest prepared;
  };
  // What one batch item is for.
  struct Owner {
    Slot* slot = nullptr;  // null: the score job
    bool prefill = false;
  };

  void run();
  // With mutex_ held: whether the worker has something to do (a request to admit whose
  // reservation fits, a score job to start, or running work).
  bool has_work() const;
  void start(Slot& slot, Queued queued);
  void step();
  // One vision-tower stage of the earliest request whose images are not encoded yet (all of
  // them when no other work waits), so that image requests do not stall the other sequences.
  void run_vision_stages();
  void images_encoded(RunningRequest& r);
  void build_batch();
  // After the forward: item's outputs are the pass's output `output`.
  void process(const Owner& owner, const tf::BatchItem& item, size_t output);
  void process_prefill(Slot& slot, std::span<const float> logits);
  void process_score(const tf::BatchItem& item, size_t output);
  void process_continuation(const tf::BatchItem& item, size_t output);
  void fail(const Owner& owner, const std::string& error);
  void release(Slot& slot);
  void finish_job(ScoreJob& job);
  void shut_down();

  const EngineContext& context_;
  tf::ForwardPass pass_;
  PromptCache cache_;
  std::vector<Slot> slots_;
  std::unique_ptr<tf::Sequence> score_sequence_;
  ScoreJob* job_ = nullptr;  // the job in progress (worker only)
  uint64_t admissions_ = 0;

  std::vector<tf::BatchItem> items_;  // this step's batch
  std::vector<Owner> owners_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;       // the worker waits for work
  std::condition_variable job_done_;   // score() waits for its job
  std::deque<Queued> queue_;
  std::deque<ScoreJob*> jobs_;
  int active_ = 0;                     // occupied slots
  MemoryBudget budget_;                // KV reservations of the running requests and jobs
  bool stopping_ = false;
  EngineStats stats_;
  std::thread thread_;  // last: starts once everything above exists
};

}  // namespace tightfit
