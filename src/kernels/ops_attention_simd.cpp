// attend_group (ops_attention.h): the query heads that share one kv head (GQA, 8 per kv head in
// Qwen3.5-35B-A3B) attend together, so each cached key and value row is read from memory once
// per token instead of once per head — at a 32K context the cache is ~64 MB per kv head, far
// beyond the caches. Keys and values are walked in blocks of kBlock rows that stay in L1/L2 while
// every head uses them. Highway SIMD, picked at run time; dims that are not a multiple of the
// vector length run the reference `attend` per head.
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "kernels/ops_attention.h"

#ifndef HWY_DISABLED_TARGETS
#define HWY_DISABLED_TARGETS (HWY_SSSE3 | HWY_SVE | HWY_SVE2 | HWY_SVE_256 | HWY_SVE2_128)
#endif

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/ops_attention_simd.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "hwy/contrib/math/math-inl.h"

HWY_BEFORE_NAMESPACE();
namespace tf::simd {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using DF = hn::ScalableTag<float>;
using VF = hn::Vec<DF>;

constexpr int64_t kBlock = 64;  // cached rows per block: 64 × 256 floats = 64 KB

// Two keys at a time per head: two independent sums hide the FMA latency.
HWY_INLINE void Scores(const float* q, const float* keys, int64_t stride, int64_t p0, int64_t n,
                       int dim, float scale, float* scores) {
  const DF d;
  const int L = static_cast<int>(hn::Lanes(d));
  int64_t p = 0;
  for (; p + 2 <= n; p += 2) {
    const float* k0 = keys + (p0 + p) * stride;
    const float* k1 = k0 + stride;
    VF a0 = hn::Zero(d), a1 = hn::Zero(d), b0 = hn::Zero(d), b1 = hn::Zero(d);
    int i = 0;
    for (; i + 2 * L <= dim; i += 2 * L) {
      const VF q0 = hn::LoadU(d, q + i), q1 = hn::LoadU(d, q + i + L);
      a0 = hn::MulAdd(q0, hn::LoadU(d, k0 + i), a0);
      a1 = hn::MulAdd(q1, hn::LoadU(d, k0 + i + L), a1);
      b0 = hn::MulAdd(q0, hn::LoadU(d, k1 + i), b0);
      b1 = hn::MulAdd(q1, hn::LoadU(d, k1 + i + L), b1);
    }
    for (; i < dim; i += L) {
      const VF qv = hn::LoadU(d, q + i);
      a0 = hn::MulAdd(qv, hn::LoadU(d, k0 + i), a0);
      b0 = hn::MulAdd(qv, hn::LoadU(d, k1 + i), b0);
    }
    scores[p] = scale * hn::GetLane(hn::SumOfLanes(d, hn::Add(a0, a1)));
    scores[p + 1] = scale * hn::GetLane(hn::SumOfLanes(d, hn::Add(b0, b1)));
  }
  for (; p < n; ++p) {
    const float* k0 = keys + (p0 + p) * stride;
    VF a0 = hn::Zero(d);
    for (int i = 0; i < dim; i += L) a0 = hn::MulAdd(hn::LoadU(d, q + i), hn::LoadU(d, k0 + i), a0);
    scores[p] = scale * hn::GetLane(hn::SumOfLanes(d, a0));
  }
}

// x ← exp(x − max) / Σ, in place (softmax in float32, the max subtracted first).
HWY_INLINE void Softmax(float* x, int64_t n) {
  const DF d;
  const int64_t L = static_cast<int64_t>(hn::Lanes(d));
  float m = -INFINITY;
  for (int64_t i = 0; i < n; ++i) m = std::max(m, x[i]);
  const VF vm = hn::Set(d, m);
  VF sum = hn::Zero(d);
  int64_t i = 0;
  for (; i + L <= n; i += L) {
    const VF e = hn::Exp(d, hn::Sub(hn::LoadU(d, x + i), vm));
    hn::StoreU(e, d, x + i);
    sum = hn::Add(sum, e);
  }
  float s = hn::GetLane(hn::SumOfLanes(d, sum));
  for (; i < n; ++i) s += (x[i] = std::exp(x[i] - m));
  const float inv = 1.0f / s;
  const VF vinv = hn::Set(d, inv);
  for (i = 0; i + L <= n; i += L) hn::StoreU(hn::Mul(hn::LoadU(d, x + i), vinv), d, x + i);
  for (; i < n; ++i) x[i] *= inv;
}

// out[dim] += Σ_{p<n} w[p] · v_{p0+p}, four vectors of columns at a time in registers.
HWY_INLINE void Accumulate(const float* w, const float* values, int64_t stride, int64_t p0,
                           int64_t n, int dim, float* out) {
  const DF d;
  const int L = static_cast<int>(hn::Lanes(d));
  for (int c = 0; c < dim; c += 4 * L) {
    const int nv = std::min(4, (dim - c) / L);
    VF acc[4];
    for (int j = 0; j < nv; ++j) acc[j] = hn::LoadU(d, out + c + j * L);
    for (int64_t p = 0; p < n; ++p) {
      const float* v = values + (p0 + p) * stride + c;
      const VF wp = hn::Set(d, w[p]);
      for (int j = 0; j < nv; ++j) acc[j] = hn::MulAdd(wp, hn::LoadU(d, v + j * L), acc[j]);
    }
    for (int j = 0; j < nv; ++j) hn::StoreU(acc[j], d, out + c + j * L);
  }
}

bool AttendGroup(const float* q, int heads, const float* keys, const float* values, int64_t count,
                 int64_t stride, int dim, float scale, float* scores, float* out) {
  const int L = static_cast<int>(hn::Lanes(DF()));
  if (dim % L != 0) return false;
  // Scores of every head, a block of keys at a time (the block stays cached for all heads).
  for (int64_t p0 = 0; p0 < count; p0 += kBlock) {
    const int64_t n = std::min(kBlock, count - p0);
    for (int h = 0; h < heads; ++h)
      Scores(q + h * dim, keys, stride, p0, n, dim, scale, scores + h * count + p0);
  }
  for (int h = 0; h < heads; ++h) Softmax(scores + h * count, count);
  std::fill(out, out + static_cast<int64_t>(heads) * dim, 0.0f);
  for (int64_t p0 = 0; p0 < count; p0 += kBlock) {
    const int64_t n = std::min(kBlock, count - p0);
    for (int h = 0; h < heads; ++h)
      Accumulate(scores + h * count + p0, values, stride, p0, n, dim, out + h * dim);
  }
  return true;
}

}  // namespace HWY_NAMESPACE
}  // namespace tf::simd
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace tf {

namespace simd {
HWY_EXPORT(AttendGroup);
}  // namespace simd

void attend_group(const float* q, int heads, const float* keys, const float* values,
                  int64_t count, int64_t stride, int dim, float scale, float* scores, float* out) {
  if (HWY_DYNAMIC_DISPATCH(simd::AttendGroup)(q, heads, keys, values, count, stride, dim, scale,
                                              scores, out))
    return;
  for (int h = 0; h < heads; ++h)
    attend(q + h * dim, keys, values, count, stride, dim, scale, scores, out + h * dim);
}

}  // namespace tf
#endif  // HWY_ONCE
