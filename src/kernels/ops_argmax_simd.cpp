// scan_row and first_argmax (ops.h): the sampler's passes over a logit row (248,320 floats for
// Qwen3.5), once per generated token and once per speculative draft. std::max_element and a
// per-entry NaN test, one float at a time, cost ~1.2 ms per row on a Zen 3 (sampler_bench,
// BM_Greedy) — 2 % of a 35B decode step; in vectors of maxima the row is a few tens of µs.
// Exact: a maximum is a maximum in any order, and the index is the first one holding it, as
// std::max_element's; tests/kernels/ops_test.cpp holds both to the scalar reference.
#include <cmath>
#include <cstdint>
#include <limits>

#include "kernels/ops.h"

#include "kernels/hwy_targets.h"  // before any hwy/ header

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/ops_argmax_simd.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace tf::simd {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using DF = hn::ScalableTag<float>;
using VF = hn::Vec<DF>;

// Four running maxima (independent chains) and one flag for NaN or +inf.
FloatRowScan ScanRow(const float* x, int64_t n) {
  const DF d;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  const float lowest = -std::numeric_limits<float>::infinity();
  const VF inf = hn::Set(d, std::numeric_limits<float>::infinity());
  VF m0 = hn::Set(d, lowest), m1 = m0, m2 = m0, m3 = m0;
  auto bad = hn::Lt(m0, m0);  // all false
  int64_t i = 0;
  for (; i + 4 * N <= n; i += 4 * N) {
    const VF a = hn::LoadU(d, x + i), b = hn::LoadU(d, x + i + N);
    const VF c = hn::LoadU(d, x + i + 2 * N), e = hn::LoadU(d, x + i + 3 * N);
    m0 = hn::Max(m0, a);
    m1 = hn::Max(m1, b);
    m2 = hn::Max(m2, c);
    m3 = hn::Max(m3, e);
    // +inf equals the largest value any lane holds. (Highway's Ne is an ordered compare: false
    // for NaN, so NaN is asked for by IsNaN.)
    const VF top = hn::Max(hn::Max(a, b), hn::Max(c, e));
    bad = hn::Or(bad, hn::Or(hn::Or(hn::IsNaN(a), hn::IsNaN(b)), hn::Or(hn::IsNaN(c), hn::IsNaN(e))));
    bad = hn::Or(bad, hn::Eq(top, inf));
  }
  FloatRowScan scan{hn::GetLane(hn::MaxOfLanes(d, hn::Max(hn::Max(m0, m1), hn::Max(m2, m3)))),
                    !hn::AllFalse(d, bad)};
  for (; i < n; ++i) {
    if (std::isnan(x[i]) || x[i] == std::numeric_limits<float>::infinity()) scan.nan_or_inf = true;
    if (x[i] > scan.max) scan.max = x[i];
  }
  return scan;
}

// The first index holding `value` (which occurs in x), a vector of entries at a time.
int64_t FirstIndexOf(const float* x, int64_t n, float value) {
  const DF d;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  const VF v = hn::Set(d, value);
  int64_t i = 0;
  for (; i + N <= n; i += N) {
    const intptr_t lane = hn::FindFirstTrue(d, hn::Eq(hn::LoadU(d, x + i), v));
    if (lane >= 0) return i + lane;
  }
  for (; i < n; ++i)
    if (x[i] == value) return i;
  return 0;
}

}  // namespace HWY_NAMESPACE
}  // namespace tf::simd
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace tf {

namespace simd {
HWY_EXPORT(ScanRow);
HWY_EXPORT(FirstIndexOf);
// Dispatched from inside tf::simd (see ops_activation_simd.cpp).
FloatRowScan DispatchScanRow(const float* x, int64_t n) {
  return HWY_DYNAMIC_DISPATCH(ScanRow)(x, n);
}
int64_t DispatchFirstIndexOf(const float* x, int64_t n, float value) {
  return HWY_DYNAMIC_DISPATCH(FirstIndexOf)(x, n, value);
}
}  // namespace simd

FloatRowScan scan_row(const float* x, int64_t n) { return simd::DispatchScanRow(x, n); }

int64_t first_index_of_max(const float* x, int64_t n, float max) {
  // Every entry −inf: the first one, as std::max_element.
  return n <= 0 ? 0 : simd::DispatchFirstIndexOf(x, n, max);
}

int64_t first_argmax(const float* x, int64_t n) {
  return n <= 0 ? 0 : first_index_of_max(x, n, simd::DispatchScanRow(x, n).max);
}

}  // namespace tf
#endif  // HWY_ONCE
