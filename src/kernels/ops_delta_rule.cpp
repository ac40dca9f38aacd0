#include "kernels/ops_delta_rule.h"

#include <cmath>
#include <stdexcept>

namespace tf {

namespace simd {  // ops_delta_rule_simd.cpp: false when the dims do not suit the vector length
// from == target: in place; else `from` is left as it was.
bool delta_rule_steps(const float* from, float* target, const float* q, const float* k,
                      const float* v, int64_t in_stride, const float* g, const float* beta,
                      int count, int dk, int dv, float* out, int64_t out_stride);
}  // namespace simd

namespace {

// The scalar fallback of both gated_delta_rule_steps forms: one reference step per token, the
// first from `from` into `target`, the rest in place there.
void reference_steps(const float* from, float* target, const float* q, const float* k,
                     const float* v, int64_t in_stride, const float* g, const float* beta,
                     int count, int dk, int dv, float* out, int64_t out_stride) {
  for (int t = 0; t < count; ++t) {
    const int64_t off = t * in_stride;
    reference::gated_delta_rule_step(from, target, q + off, k + off, v + off, g[t], beta[t], dk,
                                     dv, out + t * out_stride);
    from = target;
  }
}

void steps(const float* from, float* target, const float* q, const float* k, const float* v,
           int64_t in_stride, const float* g, const float* beta, int count, int dk, int dv,
           float* out, int64_t out_stride) {
  if (!simd::delta_rule_steps(from, target, q, k, v, in_stride, g, beta, count, dk, dv, out,
                              out_stride))
    reference_steps(from, target, q, k, v, in_stride, g, beta, count, dk, dv, out, out_stride);
}

}  // namespace

void gated_delta_rule_step(float* state, const float* q, const float* k, const float* v,
                           float g, float beta, int dk, int dv, float* out) {
  steps(state, state, q, k, v, 0, &g, &beta, 1, dk, dv, out, 0);
}

void gated_delta_rule_step(const float* from, float* state, const float* q, const float* k,
                           const float* v, float g, float beta, int dk, int dv, float* out) {
  steps(from, state, q, k, v, 0, &g, &beta, 1, dk, dv, out, 0);
}

void gated_delta_rule_steps(float* state, const float* q, const float* k, const float* v,
                            int64_t in_stride, const float* g, const float* beta, int count,
                            int dk, int dv, float* out, int64_t out_stride) {
  steps(state, state, q, k, v, in_stride, g, beta, count, dk, dv, out, out_stride);
}

void gated_delta_rule_steps(const float* from, float* last, const float* q, const float* k,
                            const float* v, int64_t in_stride, const float* g, const float* beta,
                            int count, int dk, int dv, float* out, int64_t out_stride) {
  steps(from, last, q, k, v, in_stride, g, beta, count, dk, dv, out, out_stride);
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

}  // namespace reference

}  // namespace tf
