// Public entry points. Until the SIMD kernels land these run the scalar reference, split over
// the thread pool by output rows.
#include "kernels/linear.h"

#include <vector>

namespace tf {

void matvec(const WeightMatrix& w, const float* x, float* y, ThreadPool& pool) {
  matmul(w, x, 1, y, pool);
}

void matmul(const WeightMatrix& w, const float* x, int64_t tokens, float* y, ThreadPool& pool) {
  pool.parallel_for(w.rows, 16, [&](int64_t begin, int64_t end, int) {
    const WeightMatrix part = w.row_slice(begin, end - begin);
    std::vector<float> tmp(static_cast<size_t>(tokens) * part.rows);
    reference::matmul(part, x, tokens, tmp.data());
    for (int64_t t = 0; t < tokens; ++t)
      for (int64_t n = 0; n < part.rows; ++n) y[t * w.rows + begin + n] = tmp[t * part.rows + n];
  });
}

void dequantize_rows(const WeightMatrix& w, int64_t row, int64_t count, float* out) {
  reference::dequantize_rows(w, row, count, out);
}

}  // namespace tf
