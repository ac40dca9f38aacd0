#include <atomic>
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
