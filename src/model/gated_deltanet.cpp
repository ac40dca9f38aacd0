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

void GatedDeltaNetHistory::restore(int64_t kept, GatedDeltaNetState& state, const TextConfig& c,
                                   const Compute& compute) const {
  if (kept == tokens) return;  // the state after the whole batch is the live one
  const Dims d(c);
  const int64_t state_size = d.Dk * d.Dv, group = d.Hv / d.Hk;
  const int dk = static_cast<int>(d.Dk), dv = static_cast<int>(d.Dv);
  // The recurrence of the first `kept` tokens from the state before the batch, per value head
  // as in the forward (step 6–8 below); the outputs are not needed again.
  compute.run(d.Hv, std::max<int64_t>(kept, 1) * state_size * 4, [&](int64_t j, int) {
    const float* from = before.data() + j * state_size;
    float* S = state.recurrent.data() + j * state_size;
    if (kept == 0) {
      std::copy_n(from, state_size, S);
      return;
    }
    const int64_t kh = j / group;
    const float* q = inputs.data() + kh * d.Dk;
    const float* k = inputs.data() + d.key_dim + kh * d.Dk;
    const float* v = inputs.data() + 2 * d.key_dim + j * d.Dv;
    std::vector<float> o(kept * d.Dv);
    gated_delta_rule_steps(from, S, q, k, v, d.conv_dim, g.data() + j * tokens,
                           beta.data() + j * tokens, static_cast<int>(kept), dk, dv, o.data(),
                           d.Dv);
  });
  // The window after `kept` tokens: the last K − 1 raw rows of (old window, rows 0 … kept − 1),
  // i.e. conv_input rows [kept, kept + K − 1) (the index rule of mlx-vlm's rollback).
  std::copy_n(conv_input.begin() + kept * conv_dim, state.conv.size(), state.conv.begin());
}

void gated_deltanet_forward(const GatedDeltaNetWeights& w, const TextConfig& c, const float* x,
                            int64_t T, std::span<const GatedDeltaNetRows> rows, float* out,
                            GatedDeltaNetScratch& s, const Compute& compute,
                            const LinearTap* tap) {
  const Dims d(c);
  // 1. Projections of the normalised input, all sequences' rows at once.
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

  // 2. Causal depthwise conv + SiLU over the q, k, v channels only (never z, a, b), each
  // sequence over its own window. A recorded history keeps the old window and the raw rows.
  s.conv_out.resize(T * d.conv_dim);
  const int64_t window = (d.K - 1) * d.conv_dim;
  for (const GatedDeltaNetRows& r : rows) {
    if (r.history) {
      const float* raw = s.mixed.data() + r.begin * d.conv_dim;
      GatedDeltaNetHistory& h = *r.history;
      h.tokens = r.count;
      h.conv_dim = d.conv_dim;
      h.conv_input.resize(window + r.count * d.conv_dim);
      std::copy_n(r.state->conv.begin(), window, h.conv_input.begin());
      std::copy_n(raw, r.count * d.conv_dim, h.conv_input.begin() + window);
      h.before.resize(r.state->recurrent.size());
    }
  }
  // The channels are independent: a prefill's convolution runs in chunks of channels on the
  // pool (on one thread the other core would wait for it).
  constexpr int64_t kConvChunk = 512;
  const int64_t chunks = (d.conv_dim + kConvChunk - 1) / kConvChunk;
  const int K = static_cast<int>(d.K);
  compute.run(static_cast<int64_t>(rows.size()) * chunks,
              T * kConvChunk * d.K / std::max<int64_t>(1, std::ssize(rows)), [&](int64_t task, int) {
    const GatedDeltaNetRows& r = rows[task / chunks];
    const int64_t c0 = task % chunks * kConvChunk, n = std::min(kConvChunk, d.conv_dim - c0);
    const int64_t first = r.begin * d.conv_dim + c0;
    causal_conv1d_silu(s.mixed.data() + first, r.count, n, d.conv_dim, w.conv.data() + c0 * K, K,
                       r.state->conv.data() + c0, s.conv_out.data() + first);
  });

  // 3–5, per token: split into q | k | v and L2-normalise q (then scale by Dk^−1/2) and k, per
  // key head; the gates per value head, stored head-major ([Hv][T], a head's run of tokens
  // contiguous): β = σ(b), g = −exp(A_log) · softplus(a + dt_bias) (log of the decay α).
  const float q_scale = 1.0f / std::sqrt(static_cast<float>(d.Dk));
  s.g.resize(d.Hv * T);
  s.beta.resize(d.Hv * T);
  compute.run(T, 4 * d.key_dim + 32 * d.Hv, [&](int64_t t, int) {
    float* row = s.conv_out.data() + t * d.conv_dim;
    for (int64_t h = 0; h < d.Hk; ++h) {
      l2_normalize(row + h * d.Dk, d.Dk, 1e-6f, q_scale);
      l2_normalize(row + d.key_dim + h * d.Dk, d.Dk, 1e-6f, 1.0f);
    }
    for (int64_t j = 0; j < d.Hv; ++j) {
      s.beta[j * T + t] = sigmoid(s.b[t * d.Hv + j]);
      s.g[j * T + t] = w.neg_exp_a_log[j] * softplus(s.a[t * d.Hv + j] + w.dt_bias[j]);
    }
  });

  // A history keeps the delta rule's inputs of its rows, to re-run a prefix of them.
  for (const GatedDeltaNetRows& r : rows) {
    if (!r.history) continue;
    GatedDeltaNetHistory& h = *r.history;
    h.inputs.assign(s.conv_out.begin() + r.begin * d.conv_dim,
                    s.conv_out.begin() + (r.begin + r.count) * d.conv_dim);
    h.g.resize(d.Hv * r.count);
    h.beta.resize(d.Hv * r.count);
    for (int64_t j = 0; j < d.Hv; ++j) {
      std::copy_n(s.g.begin() + j * T + r.begin, r.count, h.g.begin() + j * r.count);
      std::copy_n(s.beta.begin() + j * T + r.begin, r.count, h.beta.begin() + j * r.count);
    }
  }

  // 6–8. The delta rule per (sequence, value head j), the per-token recurrence over the
  // sequence's rows (kernels/ops_delta_rule.h); head j reads key/query head ⌊j / (Hv/Hk)⌋.
  s.core.resize(T * d.value_dim);
  const int64_t group = d.Hv / d.Hk;
  const int dk = static_cast<int>(d.Dk), dv = static_cast<int>(d.Dv);
  const int64_t state_size = d.Dk * d.Dv;
  const int64_t tasks = static_cast<int64_t>(rows.size()) * d.Hv;
  compute.run(tasks, T * state_size * 4 / static_cast<int64_t>(rows.size()),
              [&](int64_t task, int) {
    const GatedDeltaNetRows& r = rows[task / d.Hv];
    const int64_t j = task % d.Hv, kh = j / group;
    float* S = r.state->recurrent.data() + j * state_size;
    const int64_t first = r.begin * d.conv_dim;
    const float* q = s.conv_out.data() + first + kh * d.Dk;
    const float* k = s.conv_out.data() + first + d.key_dim + kh * d.Dk;
    const float* v = s.conv_out.data() + first + 2 * d.key_dim + j * d.Dv;
    const float* g = s.g.data() + j * T + r.begin;
    const float* beta = s.beta.data() + j * T + r.begin;
    float* o = s.core.data() + r.begin * d.value_dim + j * d.Dv;
    if (r.history) {  // the state after the rows into the history's buffer; `S` stays
      gated_delta_rule_steps(S, r.history->before.data() + j * state_size, q, k, v, d.conv_dim,
                             g, beta, static_cast<int>(r.count), dk, dv, o, d.value_dim);
      return;
    }
    gated_delta_rule_steps(S, q, k, v, d.conv_dim, g, beta, static_cast<int>(r.count), dk, dv, o,
                           d.value_dim);
  });

  // The state after the batch becomes the live one; the one before it is kept in its place.
  for (const GatedDeltaNetRows& r : rows)
    if (r.history) r.state->recurrent.swap(r.history->before);

  // 9. Gated RMSNorm per head with silu(z), then the output projection.
  compute.run(T, 8 * d.value_dim, [&](int64_t t, int) {
    for (int64_t j = 0; j < d.Hv; ++j) {
      float* o = s.core.data() + t * d.value_dim + j * d.Dv;
      rms_norm_gated(o, w.norm.data(), s.z.data() + t * d.value_dim + j * d.Dv, d.Dv,
                     c.rms_norm_eps, o);
    }
  });
  if (tap) (*tap)("linear_attn.out_proj", w.out_proj, s.core.data(), T);
  compute.matmul(w.out_proj, s.core.data(), T, out);
}

}  // namespace tf
