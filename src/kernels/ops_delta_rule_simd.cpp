// SIMD gated delta rule (ops_delta_rule.h), compiled per Highway target and picked at run time:
// runs of tokens by the per-token recurrence, one sweep of each 128 × 128 state per token
// (StepColumns). Dk and Dv must be multiples of the vector length; otherwise the entry returns
// false and the caller runs the reference.
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "kernels/hwy_targets.h"  // before any hwy/ header

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/ops_delta_rule_simd.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/cache_control.h"
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace tf::simd {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using DF = hn::ScalableTag<float>;
using VF = hn::Vec<DF>;

// Vectors of a state row one sweep holds in registers (Δ, o and the next token's e, 8 each): 24
// of the 32 registers of AVX-512 / NEON, so a 128-wide row is read whole and in order; AVX2 has
// 16 registers in all, so 4. delta_rule_bench (one thread, 63 MB of states from DRAM): 8 in
// both sweeps of the former two-sweep step 1.4–1.6× the step with 4 (bench/RESULTS.md).
constexpr int kWideVectors = TF_HWY_TARGET_VECTOR_REGISTERS == 32 ? 8 : 4;

bool Supported(int dk, int dv) {
  const int L = static_cast<int>(hn::Lanes(DF()));
  return dk % L == 0 && dv % L == 0 && dk > 0 && dv > 0;
}

// One token's sweep over columns [j0, j0 + N·L): S ← α S + k Δᵀ (source → target), o = Sᵀq,
// and with kNext e = Sᵀk_next. Rows are `source_stride` / `target_stride` floats apart; with
// kStream the new rows are written by non-temporal stores (target aligned to a vector).
template <int N, bool kNext, bool kStream>
HWY_INLINE void Sweep(const float* source, int64_t source_stride, float* target,
                      int64_t target_stride, const float* k, const float* q, const float* k_next,
                      VF va, const VF (&delta)[N], VF (&o)[N], VF (&e)[N], int dk) {
  const DF d;
  const int L = static_cast<int>(hn::Lanes(d));
  for (int r = 0; r < dk; ++r) {
    const float* before = source + r * source_stride;
    const VF kr = hn::Set(d, k[r]), qr = hn::Set(d, q[r]);
#pragma GCC unroll 8
    for (int t = 0; t < N; ++t) {
      const VF s = hn::MulAdd(va, hn::LoadU(d, before + t * L), hn::Mul(kr, delta[t]));
      float* now = target + r * target_stride + t * L;
      if constexpr (kStream)
        hn::Stream(s, d, now);
      else
        hn::StoreU(s, d, now);
      o[t] = hn::MulAdd(s, qr, o[t]);
      if constexpr (kNext) e[t] = hn::MulAdd(hn::Set(d, k_next[r]), s, e[t]);
    }
  }
}

// Columns [j0, j0 + N·L) of `count` consecutive tokens. The columns of S never mix (e, Δ and
// o are per column), so all the tokens run over one block of columns before the next. Token i
// reads the state after token i − 1 (`from` for i = 0):
//   Δ = β (v − α e),  S ← α S + k Δᵀ,  o = Sᵀq,
// where e = Sᵀk of the state before the token. That prediction for token i + 1 is summed in
// token i's sweep from the rows it has just written, so a run of tokens reads the state once
// per token (and once more for the first e), not twice as separate steps would — bit for bit
// the same sums, in the same order. Δ, o and the next e (3 × N vectors) stay in registers.
//
// Without `scratch` every token writes `target` in place (from == target). With it (the state
// after the run into another buffer: a speculative verify batch, which keeps the state before
// it), the states between tokens stay in `scratch` (this block's dk × N·L floats, in L1/L2) and
// only the last one goes to `target`, by non-temporal stores: they need no read of the lines
// they replace, which a plain store to a buffer out of cache makes first.
template <int N>
HWY_INLINE void StepColumns(const float* from, float* target, float* scratch, const float* q,
                            const float* k, const float* v, int64_t in_stride, const float* g,
                            const float* beta, int count, int dk, int dv, int j0, float* out,
                            int64_t out_stride) {
  const DF d;
  const int L = static_cast<int>(hn::Lanes(d));
  VF e[N];
#pragma GCC unroll 8
  for (int t = 0; t < N; ++t) e[t] = hn::Zero(d);
  for (int r = 0; r < dk; ++r) {
    const float* row = from + static_cast<int64_t>(r) * dv + j0;
    const VF kr = hn::Set(d, k[r]);
#pragma GCC unroll 8
    for (int t = 0; t < N; ++t) e[t] = hn::MulAdd(kr, hn::LoadU(d, row + t * L), e[t]);
  }
  const float* source = from + j0;
  int64_t source_stride = dv;
  for (int i = 0; i < count; ++i) {
    const float* qi = q + i * in_stride;
    const float* ki = k + i * in_stride;
    const float* vi = v + i * in_stride;
    const float* k_next = i + 1 < count ? k + (i + 1) * in_stride : ki;
    const float alpha = std::exp(g[i]);
    const VF va = hn::Set(d, alpha), vb = hn::Set(d, beta[i]);
    VF delta[N], o[N];
#pragma GCC unroll 8
    for (int t = 0; t < N; ++t) {
      delta[t] = hn::Mul(vb, hn::NegMulAdd(va, e[t], hn::LoadU(d, vi + j0 + t * L)));
      o[t] = hn::Zero(d);
      e[t] = hn::Zero(d);
    }
    const bool next = i + 1 < count;
    if (scratch && next) {
      Sweep<N, true, false>(source, source_stride, scratch, N * L, ki, qi, k_next, va, delta, o,
                            e, dk);
      source = scratch;
      source_stride = N * L;
    } else if (scratch) {
      Sweep<N, false, true>(source, source_stride, target + j0, dv, ki, qi, k_next, va, delta, o,
                            e, dk);
    } else if (next) {
      Sweep<N, true, false>(source, dv, target + j0, dv, ki, qi, k_next, va, delta, o, e, dk);
    } else {
      Sweep<N, false, false>(source, dv, target + j0, dv, ki, qi, k_next, va, delta, o, e, dk);
    }
#pragma GCC unroll 8
    for (int t = 0; t < N; ++t) hn::StoreU(o[t], d, out + i * out_stride + j0 + t * L);
  }
}

// Rows of a column block the scratch holds (Dk of Qwen3.5: 128); with a larger dk, or a target
// not aligned to a vector, an out-of-place run copies the state into the target and runs there.
constexpr int kScratchRows = 128;

bool DeltaRuleSteps(const float* from, float* target, const float* q, const float* k,
                    const float* v, int64_t in_stride, const float* g, const float* beta,
                    int count, int dk, int dv, float* out, int64_t out_stride) {
  if (!Supported(dk, dv)) return false;
  const int L = static_cast<int>(hn::Lanes(DF()));
  HWY_ALIGN float scratch[kScratchRows * kWideVectors * hn::MaxLanes(DF())];
  float* columns = nullptr;
  if (from != target) {
    if (dk <= kScratchRows && reinterpret_cast<uintptr_t>(target) % (L * sizeof(float)) == 0) {
      columns = scratch;
    } else {
      std::copy_n(from, static_cast<int64_t>(dk) * dv, target);
      from = target;
    }
  }
  int j0 = 0;
  for (; j0 + kWideVectors * L <= dv; j0 += kWideVectors * L)
    StepColumns<kWideVectors>(from, target, columns, q, k, v, in_stride, g, beta, count, dk, dv,
                              j0, out, out_stride);
  for (; j0 < dv; j0 += L)
    StepColumns<1>(from, target, columns, q, k, v, in_stride, g, beta, count, dk, dv, j0, out,
                   out_stride);
  // The streamed rows are visible to the thread that reads them next (the next forward pass, a
  // rewind) once the pool's synchronisation follows this fence.
  if (columns) hwy::FlushStream();
  return true;
}

}  // namespace HWY_NAMESPACE
}  // namespace tf::simd
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace tf::simd {

HWY_EXPORT(DeltaRuleSteps);

bool delta_rule_steps(const float* from, float* target, const float* q, const float* k,
                      const float* v, int64_t in_stride, const float* g, const float* beta,
                      int count, int dk, int dv, float* out, int64_t out_stride) {
  return HWY_DYNAMIC_DISPATCH(DeltaRuleSteps)(from, target, q, k, v, in_stride, g, beta, count,
                                              dk, dv, out, out_stride);
}

}  // namespace tf::simd
#endif  // HWY_ONCE
