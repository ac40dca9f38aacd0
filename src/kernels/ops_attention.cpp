#include "kernels/ops_attention.h"

#include "kernels/ops.h"

namespace tf {

void attend(const float* q, const float* keys, const float* values, int64_t count,
            int64_t stride, int dim, float scale, float* scores, float* out) {
  for (int64_t p = 0; p < count; ++p) scores[p] = scale * dot(q, keys + p * stride, dim);
  softmax_inplace(scores, count);
  for (int i = 0; i < dim; ++i) out[i] = 0.0f;
  for (int64_t p = 0; p < count; ++p) axpy(scores[p], values + p * stride, out, dim);
}

}  // namespace tf
