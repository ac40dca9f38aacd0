// SIMD rows of dense weights (F32 / F16 / BF16) with float activations, compiled once per
// Highway target and picked at run time. F16 and BF16 widen to float exactly, so the only
// rounding is the float accumulation: 4 chains per row and token, summed in the same order
// whatever the number of tokens, so a row of a batch equals that token's row alone bit for bit
// (a speculative verify batch routes its tokens as single steps would). Up to 3 tokens share a
// weight load: 12 chains keep both FMA pipes busy through the FMA latency (one chain per token,
// as before 2026-12-05, left a verify batch's router latency-bound: bench/RESULTS.md).
#include <algorithm>

#include "kernels/linear_internal.h"

#include "kernels/hwy_targets.h"  // before any hwy/ header

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/linear_dense.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace tf::simd {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using DF = hn::ScalableTag<float>;
using VF = hn::Vec<DF>;
// Rows per cache tile in matmul: they stay in L2 while every token tile passes over them.
constexpr size_t kRowTileBytes = 128 * 1024;

template <class D>
HWY_INLINE VF LoadWeights(D df, const uint8_t* row, DType dt, int64_t k) {
  if (dt == DType::BF16) {
    const hn::Rebind<hwy::bfloat16_t, D> dbf;
    return hn::PromoteTo(df, hn::LoadU(dbf, reinterpret_cast<const hwy::bfloat16_t*>(row) + k));
  }
  if (dt == DType::F16) {
    const hn::Rebind<hwy::float16_t, D> dh;
    return hn::PromoteTo(df, hn::LoadU(dh, reinterpret_cast<const hwy::float16_t*>(row) + k));
  }
  return hn::LoadU(df, reinterpret_cast<const float*>(row) + k);
}

template <int kTT>
HWY_INLINE void DenseRowTokens(const uint8_t* row, DType dt, const float* x, int64_t cols,
                               float* out) {
  const DF df;
  const int64_t n = static_cast<int64_t>(hn::Lanes(df));
  constexpr int kChains = 4;
  VF acc[kTT * kChains];
  #pragma GCC unroll 8
  for (int i = 0; i < kTT * kChains; ++i) acc[i] = hn::Zero(df);
  int64_t k = 0;
  for (; k + kChains * n <= cols; k += kChains * n) {
    #pragma GCC unroll 8
    for (int c = 0; c < kChains; ++c) {
      const VF wv = LoadWeights(df, row, dt, k + c * n);
      #pragma GCC unroll 8
      for (int i = 0; i < kTT; ++i)
        acc[i * kChains + c] = hn::MulAdd(wv, hn::LoadU(df, x + i * cols + k + c * n),
                                          acc[i * kChains + c]);
    }
  }
  for (; k + n <= cols; k += n) {
    const VF wv = LoadWeights(df, row, dt, k);
    #pragma GCC unroll 8
    for (int i = 0; i < kTT; ++i)
      acc[i * kChains] = hn::MulAdd(wv, hn::LoadU(df, x + i * cols + k), acc[i * kChains]);
  }
  #pragma GCC unroll 8
  for (int i = 0; i < kTT; ++i) {
    VF sum = acc[i * kChains];
    #pragma GCC unroll 8
    for (int c = 1; c < kChains; ++c) sum = hn::Add(sum, acc[i * kChains + c]);
    float s = hn::GetLane(hn::SumOfLanes(df, sum));
    for (int64_t j = k; j < cols; ++j) s += load_float(row, dt, j) * x[i * cols + j];
    out[i] = s;
  }
}

void DenseRows(const WeightMatrix& w, const float* x, int64_t tokens, int64_t row_begin,
               int64_t row_end, float* y, int64_t y_stride) {
  const size_t row_bytes = w.row_bytes();
  const int64_t tile_rows =
      std::max<int64_t>(1, static_cast<int64_t>(kRowTileBytes / std::max<size_t>(1, row_bytes)));
  for (int64_t r0 = row_begin; r0 < row_end; r0 += tile_rows) {
    const int64_t r1 = std::min(row_end, r0 + tile_rows);
    for (int64_t t0 = 0; t0 < tokens;) {
      const int64_t left = tokens - t0;
      // Threes, but 2 + 2 rather than 3 + 1 for the last four (a lone token's pass costs
      // nearly what two tokens' does).
      const int tt = left == 4 ? 2 : left >= 3 ? 3 : static_cast<int>(left);
      const float* xt = x + t0 * w.cols;
      for (int64_t r = r0; r < r1; ++r) {
        const uint8_t* row = w.data + static_cast<size_t>(r) * row_bytes;
        float dots[3];
        switch (tt) {
          case 3: DenseRowTokens<3>(row, w.dtype, xt, w.cols, dots); break;
          case 2: DenseRowTokens<2>(row, w.dtype, xt, w.cols, dots); break;
          default: DenseRowTokens<1>(row, w.dtype, xt, w.cols, dots); break;
        }
        for (int i = 0; i < tt; ++i) y[(t0 + i) * y_stride + r] = dots[i];
      }
      t0 += tt;
    }
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace tf::simd
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace tf::simd {

HWY_EXPORT(DenseRows);

void dense_rows(const WeightMatrix& w, const float* x, int64_t tokens, int64_t row_begin,
                int64_t row_end, float* y, int64_t y_stride) {
  HWY_DYNAMIC_DISPATCH(DenseRows)(w, x, tokens, row_begin, row_end, y, y_stride);
}

}  // namespace tf::simd
#endif  // HWY_ONCE
