#include "kernels/thread_pool.h"

#include <algorithm>
#include <chrono>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace tf {

namespace {

// How long an idle thread keeps polling before it blocks: longer than the gap between two
// kernel calls of one decode step, short enough not to burn a core between requests.
constexpr auto kSpin = std::chrono::microseconds(200);

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// Polls `ready` until it returns true or kSpin has passed; returns its last answer.
template <class F>
bool spin_until(F&& ready) {
  const auto deadline = std::chrono::steady_clock::now() + kSpin;
  for (int i = 0;; ++i) {
    if (ready()) return true;
    cpu_relax();
    if ((i & 63) == 63 && std::chrono::steady_clock::now() > deadline) return ready();
  }
}

}  // namespace

ThreadPool::ThreadPool(int num_threads) {
  if (num_threads <= 0) num_threads = std::max(1u, std::thread::hardware_concurrency());
  for (int i = 1; i < num_threads; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_.store(true);
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::work_on(uint32_t gen, int thread) {
  uint64_t cur = ticket_.load(std::memory_order_acquire);
  for (;;) {
    const uint32_t count = static_cast<uint32_t>(cur >> 16) & kMaxBatch;
    const uint32_t next = static_cast<uint32_t>(cur) & kMaxBatch;
    if (static_cast<uint32_t>(cur >> 32) != gen || next >= count) return;
    if (!ticket_.compare_exchange_weak(cur, cur + 1, std::memory_order_acq_rel,
                                       std::memory_order_acquire))
      continue;
    // Task `next` of generation `gen` is ours; run() waits for it, so job_ is still its job.
    (*job_)(first_task_ + next, thread);
    if (tasks_done_.fetch_add(1, std::memory_order_acq_rel) + 1 == count) {
      std::lock_guard<std::mutex> lock(mutex_);  // pairs with the caller's predicate check
      done_.notify_one();
    }
    cur = ticket_.load(std::memory_order_acquire);
  }
}

void ThreadPool::worker_loop(int index) {
  uint32_t seen = 0;
  for (;;) {
    auto has_work = [&] {
      return stop_.load(std::memory_order_acquire) ||
             static_cast<uint32_t>(ticket_.load(std::memory_order_acquire) >> 32) != seen;
    };
    if (!spin_until(has_work)) {
      std::unique_lock<std::mutex> lock(mutex_);
      sleepers_.fetch_add(1);
      // Pairs with the fence in run_batch (a store-then-load on each side, Dekker style): the
      // acquire loads in has_work alone may read an old ticket on a weakly ordered CPU such as
      // ARM, and neither side would then see the other.
      std::atomic_thread_fence(std::memory_order_seq_cst);
      wake_.wait(lock, has_work);
      sleepers_.fetch_sub(1);
    }
    if (stop_.load()) return;
    seen = static_cast<uint32_t>(ticket_.load(std::memory_order_acquire) >> 32);
    work_on(seen, index);
  }
}

void ThreadPool::run_batch(int64_t first_task, uint32_t count,
                           const std::function<void(int64_t, int)>& fn) {
  job_ = &fn;
  first_task_ = first_task;
  tasks_done_.store(0, std::memory_order_relaxed);
  const uint32_t gen = static_cast<uint32_t>(ticket_.load(std::memory_order_relaxed) >> 32) + 1;
  ticket_.store((static_cast<uint64_t>(gen) << 32) | (static_cast<uint64_t>(count) << 16));
  // A worker going to sleep increments sleepers_ before it re-checks the ticket, so either it
  // sees the new ticket or we see it counted: both sides put a full fence between their store
  // and their load.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (sleepers_.load() > 0) {
    { std::lock_guard<std::mutex> lock(mutex_); }
    wake_.notify_all();
  }
  work_on(gen, 0);
  auto all_done = [&] { return tasks_done_.load(std::memory_order_acquire) == count; };
  if (!spin_until(all_done)) {
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, all_done);
  }
  job_ = nullptr;
}

void ThreadPool::run(int64_t num_tasks, const std::function<void(int64_t, int)>& fn) {
  if (num_tasks <= 0) return;
  if (workers_.empty() || num_tasks == 1) {
    for (int64_t t = 0; t < num_tasks; ++t) fn(t, 0);
    return;
  }
  for (int64_t first = 0; first < num_tasks; first += kMaxBatch)
    run_batch(first, static_cast<uint32_t>(std::min<int64_t>(kMaxBatch, num_tasks - first)), fn);
}

void ThreadPool::parallel_for(int64_t n, int64_t grain,
                              const std::function<void(int64_t, int64_t, int)>& fn) {
  if (n <= 0) return;
  grain = std::max<int64_t>(1, grain);
  const int64_t max_chunks = (n + grain - 1) / grain;
  const int64_t chunks = std::min<int64_t>(max_chunks, num_threads());
  const int64_t per = (n + chunks - 1) / chunks;
  run(chunks, [&](int64_t c, int thread) {
    const int64_t b = c * per;
    const int64_t e = std::min(n, b + per);
    if (b < e) fn(b, e, thread);
  });
}

}  // namespace tf
