// SIMD gated delta rule (ops_delta_rule.h), compiled per Highway target and picked at run time.
// The chunked form is written as small matrix products on one head's Dk × Dv state, all of
// which stay in L1/L2: with C = 64 and Dk = Dv = 128 a chunk is ~4.5 M multiply-adds, which the
// scalar reference (ops_delta_rule.cpp) ran at well under one per cycle, and which were half of
// a 512-token prefill of Qwen3.5-35B-A3B. The math is the reference's, step for step:
//   L = β ⊙ (K Kᵀ) ⊙ e^{c_i − c_j} (j < i);  U = T⁻¹ β V, W = T⁻¹ β e^{c} K (forward substitution);
//   D = U − W S₀;  O = diag(e^{c}) Q S₀ + P D, P = (Q Kᵀ) ⊙ e^{c_i − c_j} (j ≤ i);
//   S = e^{c_C} S₀ + (K ⊙ e^{c_C − c})ᵀ D.
// Only differences c_i − c_j with j ≤ i are exponentiated (never positive), as in the reference.
// Both entries need Dk and Dv to be multiples of the vector length; otherwise they return false
// and the caller runs the reference.
#include <cmath>
#include <cstdint>

#include "kernels/hwy_targets.h"  // before any hwy/ header

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/ops_delta_rule_simd.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "hwy/contrib/math/math-inl.h"

HWY_BEFORE_NAMESPACE();
namespace tf::simd {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using DF = hn::ScalableTag<float>;
using VF = hn::Vec<DF>;

// Vectors of a state row one sweep of the decode step holds in registers (Sᵀk: 8 sums and 8
// loads; the update: Δ and o, 8 each): 16 of the 32 registers of AVX-512 / NEON, so a 128-wide
// row is read whole and in order; AVX2 has 16 registers in all, so 4. delta_rule_bench (one
// thread, 63 MB of states from DRAM): 8 in Sᵀk alone 1.1–1.2×, in both sweeps 1.4–1.6× the
// step with 4 (bench/RESULTS.md).
constexpr int kWideVectors = TF_HWY_TARGET_VECTOR_REGISTERS == 32 ? 8 : 4;

// kR rows × kV vectors of out: out = out_scale·out + ab_scale·Σ_r a[i·lda + r] b[r·ldb + ·]
// (out_scale 0: out is only written).
template <int kR, int kV>
HWY_INLINE void Tile(int K, const float* a, int64_t lda, const float* b, int64_t ldb, float* out,
                     int64_t ldo, float out_scale, float ab_scale) {
  const DF d;
  const int64_t L = static_cast<int64_t>(hn::Lanes(d));
  // The constant loops must be unrolled, or GCC keeps acc in memory (a load and a store per
  // multiply-add, several times slower).
  VF acc[kR][kV];
#pragma GCC unroll 4
  for (int i = 0; i < kR; ++i)
#pragma GCC unroll 8
    for (int j = 0; j < kV; ++j) acc[i][j] = hn::Zero(d);
  for (int r = 0; r < K; ++r) {
    VF bv[kV];
#pragma GCC unroll 8
    for (int j = 0; j < kV; ++j) bv[j] = hn::LoadU(d, b + r * ldb + j * L);
#pragma GCC unroll 4
    for (int i = 0; i < kR; ++i) {
      const VF av = hn::Set(d, a[i * lda + r]);
#pragma GCC unroll 8
      for (int j = 0; j < kV; ++j) acc[i][j] = hn::MulAdd(av, bv[j], acc[i][j]);
    }
  }
  const VF s = hn::Set(d, ab_scale), os = hn::Set(d, out_scale);
#pragma GCC unroll 4
  for (int i = 0; i < kR; ++i)
#pragma GCC unroll 8
    for (int j = 0; j < kV; ++j) {
      float* o = out + i * ldo + j * L;
      const VF ab = hn::Mul(acc[i][j], s);
      hn::StoreU(out_scale == 0.0f ? ab : hn::MulAdd(os, hn::LoadU(d, o), ab), d, o);
    }
}

template <int kR>
HWY_INLINE void RowBlock(int N, int K, const float* a, int64_t lda, const float* b, int64_t ldb,
                         float* out, int64_t ldo, float out_scale, float ab_scale) {
  const int64_t L = static_cast<int64_t>(hn::Lanes(DF()));
  const int vectors = static_cast<int>(N / L);
  int j = 0;
  // One row of A (the decode step's Sᵀk): kWideVectors of B's rows at a time.
  if constexpr (kR == 1 && kWideVectors > 4)
    for (; j + kWideVectors <= vectors; j += kWideVectors)
      Tile<kR, kWideVectors>(K, a, lda, b + j * L, ldb, out + j * L, ldo, out_scale, ab_scale);
  for (; j + 4 <= vectors; j += 4)
    Tile<kR, 4>(K, a, lda, b + j * L, ldb, out + j * L, ldo, out_scale, ab_scale);
  for (; j + 2 <= vectors; j += 2)
    Tile<kR, 2>(K, a, lda, b + j * L, ldb, out + j * L, ldo, out_scale, ab_scale);
  for (; j < vectors; ++j)
    Tile<kR, 1>(K, a, lda, b + j * L, ldb, out + j * L, ldo, out_scale, ab_scale);
}

// out[M][N] = out_scale·out + ab_scale·A[M][K]·B[K][N]; N a multiple of the vector length.
void Gemm(int M, int N, int K, const float* a, int64_t lda, const float* b, int64_t ldb,
          float* out, int64_t ldo, float out_scale, float ab_scale) {
  int i = 0;
  for (; i + 4 <= M; i += 4)
    RowBlock<4>(N, K, a + i * lda, lda, b, ldb, out + i * ldo, ldo, out_scale, ab_scale);
  for (; i < M; ++i) RowBlock<1>(N, K, a + i * lda, lda, b, ldb, out + i * ldo, ldo, out_scale, ab_scale);
}

// row[j] = scale_j · e^{c_i − c_j} for j < count (count ≤ i + 1, so every exponent is ≤ 0).
void ExpDiffRow(const float* c, int i, int count, float* row) {
  const DF d;
  const int L = static_cast<int>(hn::Lanes(d));
  const VF ci = hn::Set(d, c[i]);
  int j = 0;
  for (; j + L <= count; j += L)
    hn::StoreU(hn::Mul(hn::LoadU(d, row + j), hn::Exp(d, hn::Sub(ci, hn::LoadU(d, c + j)))), d,
               row + j);
  for (; j < count; ++j) row[j] *= std::exp(c[i] - c[j]);
}

bool Supported(int dk, int dv) {
  const int L = static_cast<int>(hn::Lanes(DF()));
  return dk % L == 0 && dv % L == 0 && dk > 0 && dv > 0;
}

// Columns [j0, j0 + N·L) of S ← α S + k Δᵀ (Δ in out) and o = Sᵀq (into out).
template <int N>
HWY_INLINE void UpdateColumns(const float* from, float* state, const float* q, const float* k,
                              float alpha, int dk, int dv, int j0, float* out) {
  const DF d;
  const int L = static_cast<int>(hn::Lanes(d));
  const VF va = hn::Set(d, alpha);
  VF delta[N], o[N];
#pragma GCC unroll 8
  for (int t = 0; t < N; ++t) delta[t] = hn::LoadU(d, out + j0 + t * L), o[t] = hn::Zero(d);
  for (int r = 0; r < dk; ++r) {
    const float* before = from + static_cast<int64_t>(r) * dv + j0;
    float* after = state + static_cast<int64_t>(r) * dv + j0;
    const VF kr = hn::Set(d, k[r]), qr = hn::Set(d, q[r]);
#pragma GCC unroll 8
    for (int t = 0; t < N; ++t) {
      const VF s = hn::MulAdd(va, hn::LoadU(d, before + t * L), hn::Mul(kr, delta[t]));
      hn::StoreU(s, d, after + t * L);
      o[t] = hn::MulAdd(s, qr, o[t]);
    }
  }
#pragma GCC unroll 8
  for (int t = 0; t < N; ++t) hn::StoreU(o[t], d, out + j0 + t * L);
}

bool DeltaRuleStep(const float* from, float* state, const float* q, const float* k,
                   const float* v, float g, float beta, int dk, int dv, float* out) {
  if (!Supported(dk, dv)) return false;
  const DF d;
  const int L = static_cast<int>(hn::Lanes(d));
  const float alpha = std::exp(g);
  // e = Sᵀk into out (scratch), then Δ = β (v − α e) in place.
  Gemm(1, dv, dk, k, dk, from, dv, out, dv, 0.0f, 1.0f);
  const VF va = hn::Set(d, alpha), vb = hn::Set(d, beta);
  for (int j = 0; j < dv; j += L)
    hn::StoreU(hn::Mul(vb, hn::NegMulAdd(va, hn::LoadU(d, out + j), hn::LoadU(d, v + j))), d,
               out + j);
  // S ← α S + k Δᵀ and o = Sᵀq over the updated rows, kWideVectors vectors of columns at a
  // time so Δ and o stay in registers; then single vectors for what is left.
  int j0 = 0;
  for (; j0 + kWideVectors * L <= dv; j0 += kWideVectors * L)
    UpdateColumns<kWideVectors>(from, state, q, k, alpha, dk, dv, j0, out);
  for (; j0 < dv; j0 += L) UpdateColumns<1>(from, state, q, k, alpha, dk, dv, j0, out);
  return true;
}

bool DeltaRuleChunk(float* state, const float* q, const float* k, const float* v,
                    int64_t in_stride, const float* g, const float* beta, int C, int dk, int dv,
                    float* out, int64_t out_stride, float* work) {
  if (!Supported(dk, dv)) return false;
  const DF d;
  const int L = static_cast<int>(hn::Lanes(d));
  // M rows are padded to a whole number of vectors (Cp ≤ the workspace's rounding to 16).
  const int Cp = (C + L - 1) / L * L;
  float* c = work;           // c_i = Σ_{s≤i} g_s
  float* M = c + C;          // [C][Cp]: K Kᵀ, then L; then Q Kᵀ, then P
  float* D = M + C * Cp;     // [C][dv]: U, then D
  float* W = D + C * dv;     // [C][dk]: W, then e^{c}·Q; as [dk][Cp]: the scaled Kᵀ of the
                             // state update
  float* Kt = W + Cp * dk;   // [dk][Cp]: Kᵀ, zero columns past C
  auto Q = [&](int i) { return q + i * in_stride; };
  auto K = [&](int i) { return k + i * in_stride; };
  auto V = [&](int i) { return v + i * in_stride; };

  double acc = 0.0;
  for (int i = 0; i < C; ++i) c[i] = static_cast<float>(acc += g[i]);

  // Kᵀ once, so K Kᵀ, Q Kᵀ and the state update are matrix products over whole rows.
  for (int r = 0; r < dk; ++r) {
    float* row = Kt + static_cast<int64_t>(r) * Cp;
    for (int i = 0; i < C; ++i) row[i] = K(i)[r];
    for (int i = C; i < Cp; ++i) row[i] = 0.0f;
  }
  // L[i][j] = β_i (k_i·k_j) e^{c_i − c_j}, j < i.
  Gemm(C, Cp, dk, K(0), in_stride, Kt, Cp, M, Cp, 0.0f, 1.0f);
  for (int i = 0; i < C; ++i) {
    float* row = M + i * Cp;
    for (int j = 0; j < i; ++j) row[j] *= beta[i];
    ExpDiffRow(c, i, i, row);
  }
  // Forward substitution (T = I + L): u_i = β_i v_i − Σ_{j<i} L_ij u_j, w_i likewise from
  // β_i e^{c_i} k_i.
  for (int i = 0; i < C; ++i) {
    float* u = D + i * dv;
    float* w = W + i * dk;
    const VF b = hn::Set(d, beta[i]), wb = hn::Set(d, beta[i] * std::exp(c[i]));
    for (int t = 0; t < dv; t += L) hn::StoreU(hn::Mul(b, hn::LoadU(d, V(i) + t)), d, u + t);
    for (int t = 0; t < dk; t += L) hn::StoreU(hn::Mul(wb, hn::LoadU(d, K(i) + t)), d, w + t);
    if (i == 0) continue;
    Gemm(1, dv, i, M + i * Cp, Cp, D, dv, u, dv, 1.0f, -1.0f);
    Gemm(1, dk, i, M + i * Cp, Cp, W, dk, w, dk, 1.0f, -1.0f);
  }
  // D = U − W S₀.
  Gemm(C, dv, dk, W, dk, state, dv, D, dv, 1.0f, -1.0f);
  // P[i][j] = (q_i·k_j) e^{c_i − c_j}, j ≤ i, zero above the diagonal.
  Gemm(C, Cp, dk, Q(0), in_stride, Kt, Cp, M, Cp, 0.0f, 1.0f);
  for (int i = 0; i < C; ++i) {
    float* row = M + i * Cp;
    for (int j = i + 1; j < C; ++j) row[j] = 0.0f;
    ExpDiffRow(c, i, i + 1, row);
  }
  // O = diag(e^{c}) Q S₀ + P D.
  for (int i = 0; i < C; ++i) {
    const VF e = hn::Set(d, std::exp(c[i]));
    for (int t = 0; t < dk; t += L) hn::StoreU(hn::Mul(e, hn::LoadU(d, Q(i) + t)), d, W + i * dk + t);
  }
  Gemm(C, dv, dk, W, dk, state, dv, out, out_stride, 0.0f, 1.0f);
  // P is lower triangular: rows i0…i0+3 need only the first i0 + 4 columns.
  for (int i0 = 0; i0 < C; i0 += 4) {
    const int rows = std::min(4, C - i0), cols = std::min(C, i0 + 4);
    Gemm(rows, dv, cols, M + i0 * Cp, Cp, D, dv, out + i0 * out_stride, out_stride, 1.0f, 1.0f);
  }
  // S = e^{c_C} S₀ + (K ⊙ e^{c_C − c})ᵀ D.
  const float last = c[C - 1];
  float* f = M;  // P is spent: f_i = e^{c_C − c_i}, zero past C
  for (int i = 0; i < C; ++i) f[i] = std::exp(last - c[i]);
  for (int i = C; i < Cp; ++i) f[i] = 0.0f;
  for (int r = 0; r < dk; ++r)
    for (int i = 0; i < Cp; i += L)
      hn::StoreU(hn::Mul(hn::LoadU(d, f + i), hn::LoadU(d, Kt + r * Cp + i)), d, W + r * Cp + i);
  Gemm(dk, dv, C, W, Cp, D, dv, state, dv, std::exp(last), 1.0f);
  return true;
}

}  // namespace HWY_NAMESPACE
}  // namespace tf::simd
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace tf::simd {

HWY_EXPORT(DeltaRuleStep);
HWY_EXPORT(DeltaRuleChunk);

bool delta_rule_step(const float* from, float* state, const float* q, const float* k,
                     const float* v, float g, float beta, int dk, int dv, float* out) {
  return HWY_DYNAMIC_DISPATCH(DeltaRuleStep)(from, state, q, k, v, g, beta, dk, dv, out);
}

bool delta_rule_chunk(float* state, const float* q, const float* k, const float* v,
                      int64_t in_stride, const float* g, const float* beta, int count, int dk,
                      int dv, float* out, int64_t out_stride, float* work) {
  return HWY_DYNAMIC_DISPATCH(DeltaRuleChunk)(state, q, k, v, in_stride, g, beta, count, dk, dv,
                                              out, out_stride, work);
}

}  // namespace tf::simd
#endif  // HWY_ONCE
