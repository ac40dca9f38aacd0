// How a forward pass runs its matrix products: the thread pool and the activation precision
// for quantized weights (kernels/linear.h). Passed to every block instead of a bare pool.
#pragma once

#include "kernels/linear.h"
#include "kernels/thread_pool.h"

namespace tf {

struct Compute {
  ThreadPool& pool;
  ActivationPrecision precision = ActivationPrecision::F32;

  void matmul(const WeightMatrix& w, const float* x, int64_t tokens, float* y) const {
    tf::matmul(w, x, tokens, y, pool, precision);
  }
  // Independent products in one pool dispatch (projections sharing an input, experts).
  void batch(std::span<const MatmulJob> jobs) const { matmul_batch(jobs, pool, precision); }
};

}  // namespace tf
