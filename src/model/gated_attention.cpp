#include "model/gated_attention.h"

#include <cmath>

#include "kernels/linear.h"
#include "kernels/ops.h"
#include "kernels/ops_attention.h"

namespace tf {

void gated_attention_forward(const GatedAttentionWeights& w, const TextConfig& c,
                             const MultimodalRope& rope, const float* x, int64_t T,
                             const Position3* positions, KVCache& cache, float* out,
                             GatedAttentionScratch& s, const Compute& compute,
                             const LinearTap* tap) {
  const int64_t nh = c.num_attention_heads, nkv = c.num_key_value_heads, hd = c.head_dim;
  const bool gated = c.attn_output_gate;
  const int64_t q_width = nh * hd * (gated ? 2 : 1);  // per head: [query | gate] (spec §9.2)
  const int64_t kv_width = nkv * hd;
  const int64_t half = rope.half();

  // 1. Projections.
  s.qg.resize(T * q_width);
  s.k.resize(T * kv_width);
  s.v.resize(T * kv_width);
  const MatmulJob projections[] = {{&w.q_proj, x, T, s.qg.data()},
                                   {&w.k_proj, x, T, s.k.data()},
                                   {&w.v_proj, x, T, s.v.data()}};
  compute.batch(projections);
  if (tap) {
    (*tap)("self_attn.q_proj", w.q_proj, x, T);
    (*tap)("self_attn.k_proj", w.k_proj, x, T);
    (*tap)("self_attn.v_proj", w.v_proj, x, T);
  }

  // 2–3. q/k RMSNorm over head_dim, then RoPE on the first rotary dims. Queries are gathered
  // into a contiguous [T][nh][hd] buffer; keys / values are appended to the cache.
  s.q.resize(T * nh * hd);
  s.cos.resize(half);
  s.sin.resize(half);
  const int64_t base = cache.length;
  cache.keys.resize((base + T) * kv_width);
  cache.values.resize((base + T) * kv_width);
  for (int64_t t = 0; t < T; ++t) {
    rope.angles(positions[t], s.cos.data(), s.sin.data());
    for (int64_t h = 0; h < nh; ++h) {
      const float* src = s.qg.data() + t * q_width + h * hd * (gated ? 2 : 1);
      float* q = s.q.data() + (t * nh + h) * hd;
      rms_norm(src, w.q_norm.data(), hd, c.rms_norm_eps, q);
      rope.apply(q, s.cos.data(), s.sin.data());
    }
    float* kc = cache.keys.data() + (base + t) * kv_width;
    float* vc = cache.values.data() + (base + t) * kv_width;
    for (int64_t g = 0; g < nkv; ++g) {
      rms_norm(s.k.data() + t * kv_width + g * hd, w.k_norm.data(), hd, c.rms_norm_eps,
               kc + g * hd);
      rope.apply(kc + g * hd, s.cos.data(), s.sin.data());
    }
    std::copy(s.v.data() + t * kv_width, s.v.data() + (t + 1) * kv_width, vc);
  }
  cache.length = base + T;

  // 4. Causal GQA: query head h of token t reads kv head ⌊h / (nh/nkv)⌋ over cache indices
  // 0 … base + t. 5. Multiply by σ(gate) before the output projection.
  // One task per (token, kv head): its `group` query heads attend together, so each cached row
  // is read once for all of them (attend_group).
  s.attn.resize(T * nh * hd);
  const int64_t group = nh / nkv;
  s.scores.resize(static_cast<size_t>(compute.pool.num_threads()) * group * cache.length);
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  compute.run(T * nkv, (base + T) * hd * 2 * group, [&](int64_t task, int thread) {
    const int64_t t = task / nkv, g = task % nkv, h0 = g * group;
    attend_group(s.q.data() + (t * nh + h0) * hd, static_cast<int>(group),
                 cache.keys.data() + g * hd, cache.values.data() + g * hd, base + t + 1, kv_width,
                 static_cast<int>(hd), scale, s.scores.data() + thread * group * cache.length,
                 s.attn.data() + (t * nh + h0) * hd);
    if (gated)
      for (int64_t h = h0; h < h0 + group; ++h) {
        float* o = s.attn.data() + (t * nh + h) * hd;
        const float* gate = s.qg.data() + t * q_width + h * 2 * hd + hd;
        for (int64_t i = 0; i < hd; ++i) o[i] *= sigmoid(gate[i]);
      }
  });
  if (tap) (*tap)("self_attn.o_proj", w.o_proj, s.attn.data(), T);
  compute.matmul(w.o_proj, s.attn.data(), T, out);
}

}  // namespace tf
