#include "model/gated_deltanet.h"

#include <algorithm>
#include <cmath>

#include "kernels/linear.h"
#include "kernels/ops.h"
#include "kernels/ops_conv.h"
#include "kernels/ops_delta_rule.h"

namespace tf {

namespace {

struct Dims {
  int64_t Hk, Hv, Dk, Dv, key_dim, value_dim, conv_dim, K;
  explicit Dims(const TextConfig& c)
      : Hk(c.linear_num_key_heads),
        Hv(c.linear_num_value_heads),
        Dk(c.linear_key_head_dim),
        Dv(c.linear_value_head_dim),
        key_dim(Hk * Dk),
        value_dim(Hv * Dv),
        conv_dim(2 * key_dim + value_dim),
        K(c.linear_conv_kernel_dim) {}
};

}  // namespace

GatedDeltaNetState::GatedDeltaNetState(const TextConfig& c) {
  const Dims d(c);
  conv.assign((d.K - 1) * d.conv_dim, 0.0f);
  recurrent.assign(d.Hv * d.Dk * d.Dv, 0.0f);
}

void GatedDeltaNetState::reset() {
  std::fill(conv.begin(), conv.end(), 0.0f);
  std::fill(recurrent.begin(), recurrent.end(), 0.0f);
}

void gated_deltanet_forward(const GatedDeltaNetWeights& w, const TextConfig& c, const float* x,
                            int64_t T, GatedDeltaNetState& state, float* out,
                            GatedDeltaNetScratch& s, const Compute& compute,
                            const LinearTap* tap) {
  const Dims d(c);
  // 1. Projections of the normalised input.
  s.mixed.resize(T * d.conv_dim);
  s.z.resize(T * d.value_dim);
  s.b.resize(T * d.Hv);
  s.a.resize(T * d.Hv);
  const MatmulJob projections[] = {{&w.in_proj_qkv, x, T, s.mixed.data()},
                                   {&w.in_proj_z, x, T, s.z.data()},
                                   {&w.in_proj_b, x, T, s.b.data()},
                                   {&w.in_proj_a, x, T, s.a.data()}};
  compute.batch(projections);
  if (tap) {
    (*tap)("linear_attn.in_proj_qkv", w.in_proj_qkv, x, T);
    (*tap)("linear_attn.in_proj_z", w.in_proj_z, x, T);
    (*tap)("linear_attn.in_proj_b", w.in_proj_b, x, T);
    (*tap)("linear_attn.in_proj_a", w.in_proj_a, x, T);
  }

  // 2. Causal depthwise conv + SiLU over the q, k, v channels only (never z, a, b).
  s.conv_out.resize(T * d.conv_dim);
  causal_conv1d_silu(s.mixed.data(), T, d.conv_dim, w.conv.data(), static_cast<int>(d.K),
                     state.conv.data(), s.conv_out.data());

  // 3–4. Split into q | k | v and L2-normalise q (then scale by Dk^−1/2) and k, per key head.
  const float q_scale = 1.0f / std::sqrt(static_cast<float>(d.Dk));
  for (int64_t t = 0; t < T; ++t) {
    float* row = s.conv_out.data() + t * d.conv_dim;
    for (int64_t h = 0; h < d.Hk; ++h) {
      l2_normalize(row + h * d.Dk, d.Dk, 1e-6f, q_scale);
      l2_normalize(row + d.key_dim + h * d.Dk, d.Dk, 1e-6f, 1.0f);
    }
  }

  // 5. Gates per value head, stored head-major ([Hv][T]) for the chunked rule:
  //    β = σ(b), g = −exp(A_log) · softplus(a + dt_bias) (log of the decay α).
  s.g.resize(d.Hv * T);
  s.beta.resize(d.Hv * T);
  for (int64_t t = 0; t < T; ++t)
    for (int64_t j = 0; j < d.Hv; ++j) {
      s.beta[j * T + t] = sigmoid(s.b[t * d.Hv + j]);
      s.g[j * T + t] = w.neg_exp_a_log[j] * softplus(s.a[t * d.Hv + j] + w.dt_bias[j]);
    }

  // 6–8. The delta rule per value head j, which reads key/query head ⌊j / (Hv/Hk)⌋.
  s.core.resize(T * d.value_dim);
  const int64_t group = d.Hv / d.Hk;
  const int dk = static_cast<int>(d.Dk), dv = static_cast<int>(d.Dv);
  const int64_t work_per_thread = gated_delta_rule_chunk_workspace(kDeltaRuleChunk, dk, dv);
  s.work.resize(work_per_thread * compute.pool.num_threads());
  compute.run(d.Hv, T * d.Dk * d.Dv * 4, [&](int64_t j, int thread) {
    const int64_t kh = j / group;
    float* S = state.recurrent.data() + j * d.Dk * d.Dv;
    const float* q = s.conv_out.data() + kh * d.Dk;
    const float* k = s.conv_out.data() + d.key_dim + kh * d.Dk;
    const float* v = s.conv_out.data() + 2 * d.key_dim + j * d.Dv;
    float* o = s.core.data() + j * d.Dv;
    if (T == 1) {
      gated_delta_rule_step(S, q, k, v, s.g[j], s.beta[j], dk, dv, o);
      return;
    }
    float* work = s.work.data() + thread * work_per_thread;
    for (int64_t t0 = 0; t0 < T; t0 += kDeltaRuleChunk) {
      const int n = static_cast<int>(std::min<int64_t>(kDeltaRuleChunk, T - t0));
      const int64_t off = t0 * d.conv_dim;
      gated_delta_rule_chunk(S, q + off, k + off, v + off, d.conv_dim, s.g.data() + j * T + t0,
                             s.beta.data() + j * T + t0, n, dk, dv, o + t0 * d.value_dim,
                             d.value_dim, work);
    }
  });

  // 9. Gated RMSNorm per head with silu(z), then the output projection.
  for (int64_t t = 0; t < T; ++t)
    for (int64_t j = 0; j < d.Hv; ++j) {
      float* o = s.core.data() + t * d.value_dim + j * d.Dv;
      rms_norm_gated(o, w.norm.data(), s.z.data() + t * d.value_dim + j * d.Dv, d.Dv,
                     c.rms_norm_eps, o);
    }
  if (tap) (*tap)("linear_attn.out_proj", w.out_proj, s.core.data(), T);
  compute.matmul(w.out_proj, s.core.data(), T, out);
}

}  // namespace tf
