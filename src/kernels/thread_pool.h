// A persistent pool of worker threads (created once, reused by every kernel call).
// Decode makes ~500 kernel calls per token, each a few tens of microseconds, so waking the
// workers must cost far less than a futex round trip: idle workers spin (with a pause
// instruction) for a short while before they sleep on a condition variable, and the caller
// spins the same way while it waits for the last task. The caller waits for tasks, not for
// workers: a worker that is asleep or descheduled simply leaves its share to the others.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace tf {

class ThreadPool {
 public:
  // num_threads counts the calling thread: 1 means run everything inline. 0 = hardware count.
  explicit ThreadPool(int num_threads = 0);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int num_threads() const { return static_cast<int>(workers_.size()) + 1; }

  // Calls fn(task, thread_index) for task in [0, num_tasks), spreading tasks over the threads
  // (the caller is thread 0). Returns when all tasks are done. Not reentrant: a task must not
  // call run() on the same pool.
  void run(int64_t num_tasks, const std::function<void(int64_t task, int thread)>& fn);

  // Splits [0, n) into contiguous ranges, at least `grain` long, one or more per thread, and
  // calls fn(begin, end, thread).
  void parallel_for(int64_t n, int64_t grain,
                    const std::function<void(int64_t begin, int64_t end, int thread)>& fn);

 private:
  void worker_loop(int index);
  // Claims and runs tasks of generation `gen` until none is left; returns how many it ran.
  void work_on(uint32_t gen, int thread);
  void run_batch(int64_t first_task, uint32_t count,
                 const std::function<void(int64_t, int)>& fn);

  // One word says which tasks are left, so claiming a task is one compare-and-swap and a
  // worker that wakes late (descheduled on a busy machine) can never run a task of a call
  // that already returned: bits 63..32 generation, 31..16 task count, 15..0 next task index.
  static constexpr uint32_t kMaxBatch = 0xffff;
  std::atomic<uint64_t> ticket_{0};
  std::atomic<uint32_t> tasks_done_{0};
  // Set by run() before it publishes a new ticket (release); read by a worker only after it
  // has claimed a task of that ticket, when the call cannot have returned yet.
  const std::function<void(int64_t, int)>* job_ = nullptr;
  int64_t first_task_ = 0;

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;     // workers sleep here after spinning
  std::condition_variable done_;     // the caller sleeps here after spinning
  std::atomic<int> sleepers_{0};     // workers blocked on wake_
  std::atomic<bool> stop_{false};
};

}  // namespace tf
