#include "kernels/ops_delta_rule.h"

#include <cmath>
#include <stdexcept>

#include "kernels/ops.h"

namespace tf {

namespace simd {  // ops_delta_rule_simd.cpp: false when the dims do not suit the vector length
bool delta_rule_step(const float* from, float* state, const float* q, const float* k,
                     const float* v, float g, float beta, int dk, int dv, float* out);
bool delta_rule_chunk(float* state, const float* q, const float* k, const float* v,
                      int64_t in_stride, const float* g, const float* beta, int count, int dk,
                      int dv, float* out, int64_t out_stride, float* work);
}  // namespace simd

void gated_delta_rule_step(float* state, const float* q, const float* k, const float* v,
                           float g, float beta, int dk, int dv, float* out) {
  gated_delta_rule_step(state, state, q, k, v, g, beta, dk, dv, out);
}

void gated_delta_rule_step(const float* from, float* state, const float* q, const float* k,
                           const float* v, float g, float beta, int dk, int dv, float* out) {
  if (!simd::delta_rule_step(from, state, q, k, v, g, beta, dk, dv, out))
    reference::gated_delta_rule_step(from, state, q, k, v, g, beta, dk, dv, out);
}

void gated_delta_rule_chunk(float* state, const float* q, const float* k, const float* v,
                            int64_t in_stride, const float* g, const float* beta, int count,
                            int dk, int dv, float* out, int64_t out_stride, float* work) {
  if (!simd::delta_rule_chunk(state, q, k, v, in_stride, g, beta, count, dk, dv, out, out_stride,
                              work))
    reference::gated_delta_rule_chunk(state, q, k, v, in_stride, g, beta, count, dk, dv, out,
                                      out_stride, work);
}

int64_t gated_delta_rule_chunk_workspace(int chunk, int dk, int dv) {
  const int64_t c = chunk;
  const int64_t cp = (c + 15) / 16 * 16;  // the SIMD version pads rows of L / P to vectors
  return c                // cumulative log-decay
         + c * cp         // L (strictly lower), then reused for P
         + c * dv         // U, then D
         + cp * dk        // W (the SIMD version also keeps e^{c}·Q and the scaled Kᵀ here)
         + cp * dk;       // the SIMD version's Kᵀ
}

namespace reference {

void gated_delta_rule_step(const float* from, float* state, const float* q, const float* k,
                           const float* v, float g, float beta, int dk, int dv, float* out) {
  if (dv > kMaxValueDim) throw std::invalid_argument("gated_delta_rule_step: value dim too large");
  const float alpha = std::exp(g);
  // Δ = β (v − α Sᵀk): the state's prediction for k, after the decay.
  float delta[kMaxValueDim];
  for (int j = 0; j < dv; ++j) delta[j] = 0.0f;
  for (int i = 0; i < dk; ++i) {
    const float* row = from + static_cast<int64_t>(i) * dv;
    const float ki = k[i];
    for (int j = 0; j < dv; ++j) delta[j] += row[j] * ki;
  }
  for (int j = 0; j < dv; ++j) delta[j] = beta * (v[j] - alpha * delta[j]);
  // S ← α S + k Δᵀ, and o = Sᵀq over the updated rows in the same pass.
  for (int j = 0; j < dv; ++j) out[j] = 0.0f;
  float* __restrict o = out;
  for (int i = 0; i < dk; ++i) {
    const float* before = from + static_cast<int64_t>(i) * dv;
    float* after = state + static_cast<int64_t>(i) * dv;
    const float ki = k[i];
    const float qi = q[i];
    for (int j = 0; j < dv; ++j) {
      after[j] = alpha * before[j] + ki * delta[j];
      o[j] += after[j] * qi;
    }
  }
}


void gated_delta_rule_chunk(float* state, const float* q, const float* k, const float* v,
                            int64_t in_stride, const float* g, const float* beta, int count,
                            int dk, int dv, float* out, int64_t out_stride, float* work) {
  const int C = count;
  float* c = work;              // c_i = Σ_{s≤i} g_s
  float* L = c + C;             // [C][C]
  float* D = L + C * C;         // [C][dv]: U, then D = U − W S₀
  float* W = D + C * dv;        // [C][dk]
  auto Q = [&](int i) { return q + i * in_stride; };
  auto K = [&](int i) { return k + i * in_stride; };
  auto V = [&](int i) { return v + i * in_stride; };
  auto dotk = [&](const float* a, const float* b) { return dot(a, b, dk); };

  double acc = 0.0;
  for (int i = 0; i < C; ++i) c[i] = static_cast<float>(acc += g[i]);

  // L[i][j] = β_i (k_i·k_j) e^{c_i − c_j}, j < i.
  for (int i = 0; i < C; ++i)
    for (int j = 0; j < i; ++j) L[i * C + j] = beta[i] * dotk(K(i), K(j)) * std::exp(c[i] - c[j]);

  // Forward substitution with T = I + L: U = T⁻¹ diag(β) V, W = T⁻¹ diag(β e^{c}) K.
  for (int i = 0; i < C; ++i) {
    float* __restrict u = D + i * dv;
    float* __restrict w = W + i * dk;
    const float* vi = V(i);
    const float* ki = K(i);
    const float wb = beta[i] * std::exp(c[i]);
    for (int t = 0; t < dv; ++t) u[t] = beta[i] * vi[t];
    for (int t = 0; t < dk; ++t) w[t] = wb * ki[t];
    for (int j = 0; j < i; ++j) {
      const float l = L[i * C + j];
      const float* __restrict uj = D + j * dv;
      const float* __restrict wj = W + j * dk;
      for (int t = 0; t < dv; ++t) u[t] -= l * uj[t];
      for (int t = 0; t < dk; ++t) w[t] -= l * wj[t];
    }
  }

  // D = U − W S₀ (S₀ = incoming state).
  for (int i = 0; i < C; ++i) {
    float* __restrict d = D + i * dv;
    const float* w = W + i * dk;
    for (int r = 0; r < dk; ++r) {
      const float* __restrict srow = state + static_cast<int64_t>(r) * dv;
      const float wr = w[r];
      for (int t = 0; t < dv; ++t) d[t] -= wr * srow[t];
    }
  }

  // O_i = e^{c_i} q_iᵀS₀ + Σ_{j≤i} (q_i·k_j) e^{c_i − c_j} D_j.
  for (int i = 0; i < C; ++i) {
    float* __restrict o = out + i * out_stride;
    const float* qi = Q(i);
    for (int t = 0; t < dv; ++t) o[t] = 0.0f;
    for (int r = 0; r < dk; ++r) {
      const float* __restrict srow = state + static_cast<int64_t>(r) * dv;
      const float qr = qi[r];
      for (int t = 0; t < dv; ++t) o[t] += qr * srow[t];
    }
    const float ei = std::exp(c[i]);
    for (int t = 0; t < dv; ++t) o[t] *= ei;
    for (int j = 0; j <= i; ++j) {
      const float p = dotk(qi, K(j)) * std::exp(c[i] - c[j]);
      const float* __restrict dj = D + j * dv;
      for (int t = 0; t < dv; ++t) o[t] += p * dj[t];
    }
  }

  // S_C = e^{c_C} S₀ + Σ_i e^{c_C − c_i} k_i D_iᵀ.
  const float last = c[C - 1];
  const float decay_all = std::exp(last);
  for (int r = 0; r < dk; ++r) {
    float* __restrict srow = state + static_cast<int64_t>(r) * dv;
    for (int t = 0; t < dv; ++t) srow[t] *= decay_all;
    for (int i = 0; i < C; ++i) {
      const float f = std::exp(last - c[i]) * K(i)[r];
      const float* __restrict d = D + i * dv;
      for (int t = 0; t < dv; ++t) srow[t] += f * d[t];
    }
  }
}

}  // namespace reference

}  // namespace tf
