// Softmax attention of one query vector over a run of cached keys / values (spec §3.5 step 4).
#pragma once

#include <cstdint>

namespace tf {

// out[dim] = Σ_p softmax_p(scale · q·k_p) v_p for p ∈ [0, count), key p at keys + p·stride and
// value p at values + p·stride. Causality is the caller's choice of `count`. `scores` holds
// `count` floats of scratch. Softmax in float32 with the max subtracted.
void attend(const float* q, const float* keys, const float* values, int64_t count,
            int64_t stride, int dim, float scale, float* scores, float* out);

// The same for `heads` query heads that share these keys / values (GQA): q and out are
// [heads][dim], scores holds heads · count floats. Equal to `attend` per head up to float
// rounding, but each key and value row is read once for all heads, in cache-sized blocks (SIMD,
// ops_attention_simd.cpp; `attend` per head when dim is not a multiple of the vector length).
void attend_group(const float* q, int heads, const float* keys, const float* values,
                  int64_t count, int64_t stride, int dim, float scale, float* scores, float* out);

}  // namespace tf
