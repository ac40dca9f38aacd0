// How a forward pass runs its matrix products: the thread pool and the activation precision
// for quantized weights (kernels/linear.h). Passed to every block instead of a bare pool.
#pragma once

#include <functional>

#include "kernels/linear.h"
#include "kernels/thread_pool.h"

namespace tf {

struct Compute {
  ThreadPool& pool;
  ActivationPrecision precision = ActivationPrecision::F32;
  // The caller's reused product buffers (a forward pass's: no heap allocation once warm);
  // nullptr: each product allocates its own.
  MatmulScratch* scratch = nullptr;

  void matmul(const WeightMatrix& w, const float* x, int64_t tokens, float* y) const {
    tf::matmul(w, x, tokens, y, pool, precision, scratch);
  }
  // Independent products in one pool dispatch (projections sharing an input, experts).
  void batch(std::span<const MatmulJob> jobs) const { matmul_batch(jobs, pool, precision, scratch); }

  // fn(task, thread) for every task, on the pool when the total work (in multiply-adds) is
  // worth waking the threads for, else inline on the calling thread (thread index 0).
  template <typename Fn>
  void run(int64_t tasks, int64_t work_per_task, Fn&& fn) const {
    if (tasks * work_per_task < kMinParallelWork) {
      for (int64_t t = 0; t < tasks; ++t) fn(t, 0);
      return;
    }
    // Through std::ref: a std::function holds a reference_wrapper inline, while a lambda with
    // more than two captures would be copied to the heap on every call (decode runs this a few
    // times per layer and token).
    pool.run(tasks, std::ref(fn));
  }
  static constexpr int64_t kMinParallelWork = 1 << 16;
};

}  // namespace tf
