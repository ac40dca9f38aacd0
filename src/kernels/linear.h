// Matrix products against a WeightMatrix — the hot path of the whole engine.
// Activations are float32. The public functions dispatch at run time to the best SIMD target
// (Highway); `reference::` holds the plain scalar versions every optimised kernel is tested
// against.
#pragma once

#include <cstdint>

#include "kernels/thread_pool.h"
#include "kernels/weight_matrix.h"

namespace tf {

// y[N] = W x[K]   (decode: one token)
void matvec(const WeightMatrix& w, const float* x, float* y, ThreadPool& pool);

// Y[T, N] = X[T, K] · Wᵀ   (prefill: a batch of T tokens, rows of X contiguous).
// Reads W once per call whatever T is.
void matmul(const WeightMatrix& w, const float* x, int64_t tokens, float* y, ThreadPool& pool);

// out[count, K] = rows [row, row + count) of W as float (embedding lookup, tests, tied heads).
void dequantize_rows(const WeightMatrix& w, int64_t row, int64_t count, float* out);

namespace reference {
void matvec(const WeightMatrix& w, const float* x, float* y);
void matmul(const WeightMatrix& w, const float* x, int64_t tokens, float* y);
void dequantize_rows(const WeightMatrix& w, int64_t row, int64_t count, float* out);
}  // namespace reference

}  // namespace tf
