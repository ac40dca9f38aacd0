#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "kernels/thread_pool.h"

namespace tf {

TEST(ThreadPool, RunsEveryTaskExactlyOnce) {
  for (int threads : {1, 2, 3}) {
    ThreadPool pool(threads);
    for (int64_t n : {1, 2, 7, 1000}) {
      std::vector<std::atomic<int>> hits(n);
      pool.run(n, [&](int64_t t, int thread) {
        EXPECT_LT(thread, threads);
        hits[t].fetch_add(1);
      });
      for (auto& h : hits) EXPECT_EQ(h.load(), 1);
    }
  }
}

TEST(ThreadPool, ParallelForCoversRangeWithoutOverlap) {
  ThreadPool pool(2);
  for (int64_t n : {1, 5, 16, 17, 1001}) {
    std::vector<int> cover(n, 0);
    pool.parallel_for(n, 4, [&](int64_t b, int64_t e, int) {
      for (int64_t i = b; i < e; ++i) cover[i]++;
    });
    for (int c : cover) EXPECT_EQ(c, 1);
  }
}

TEST(ThreadPool, ReusableManyTimes) {
  ThreadPool pool(2);
  std::atomic<int64_t> sum{0};
  for (int rep = 0; rep < 2000; ++rep) pool.run(3, [&](int64_t t, int) { sum += t; });
  EXPECT_EQ(sum.load(), 2000 * 3);
}

}  // namespace tf

namespace tf {

TEST(ThreadPool, WakesWorkersAfterTheyFallAsleep) {
  // Idle workers spin for a while, then block; both ways back to work must run every task.
  ThreadPool pool(3);
  for (int rep = 0; rep < 6; ++rep) {
    if (rep % 2) std::this_thread::sleep_for(std::chrono::milliseconds(3));  // past the spin
    std::vector<std::atomic<int>> hits(50);
    pool.run(50, [&](int64_t t, int) { hits[t].fetch_add(1); });
    for (auto& h : hits) EXPECT_EQ(h.load(), 1);
  }
}

TEST(ThreadPool, DestroysCleanlyWhileWorkersSpinOrSleep) {
  for (int sleep_ms : {0, 3}) {
    ThreadPool pool(2);
    std::atomic<int> n{0};
    pool.run(4, [&](int64_t, int) { n++; });
    std::this_thread::sleep_for(std::chrono::milliseconds(sleep_ms));
    EXPECT_EQ(n.load(), 4);
  }  // the destructor must not hang in either state
}

}  // namespace tf

namespace tf {

TEST(ThreadPool, MoreTasksThanOneTicketHolds) {
  ThreadPool pool(2);
  const int64_t n = 200000;  // > 65535: run() splits it into several batches
  std::vector<std::atomic<int>> hits(n);
  pool.run(n, [&](int64_t t, int) { hits[t].fetch_add(1); });
  for (auto& h : hits) ASSERT_EQ(h.load(), 1);
}

TEST(ThreadPool, CallerDoesNotWaitForABusyWorker) {
  // With 3 threads on a machine that may have fewer cores, a call must finish as soon as its
  // tasks are done, even when a worker has not woken up yet. Every task runs exactly once.
  ThreadPool pool(3);
  std::atomic<int64_t> sum{0};
  for (int rep = 0; rep < 5000; ++rep) {
    pool.run(2, [&](int64_t t, int) { sum += t + 1; });
  }
  EXPECT_EQ(sum.load(), 5000 * 3);
}

}  // namespace tf
