#include "model/gated_attention.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "kernels/linear.h"
#include "kernels/ops.h"
#include "kernels/ops_attention.h"

namespace tf {

void gated_attention_forward(const GatedAttentionWeights& w, const TextConfig& c,
                             const MultimodalRope& rope, const float* x, int64_t T,
                             const Position3* positions, std::span<const GatedAttentionRows> rows,
                             float* out, GatedAttentionScratch& s, const Compute& compute,
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
  // into a contiguous [T][nh][hd] buffer; keys (normed in place) and values are appended to the
  // cache, converted to its storage type.
  s.q.resize(T * nh * hd);
  s.cos.resize(half);
  s.sin.resize(half);
  s.row_cache.resize(T);
  s.row_visible.resize(T);
  int64_t longest = 0;  // most cached rows any batch row attends to
  for (const GatedAttentionRows& r : rows) {
    KVCache& cache = *r.cache;
    if (cache.heads != nkv || cache.head_dim != hd)
      throw std::logic_error("gated_attention_forward: KV cache of " +
                             std::to_string(cache.heads) + " heads × " +
                             std::to_string(cache.head_dim) + ", the layer needs " +
                             std::to_string(nkv) + " × " + std::to_string(hd));
    const int64_t base = cache.length;
    cache.resize(base + r.count);
    for (int64_t t = r.begin; t < r.begin + r.count; ++t) {
      rope.angles(positions[t], s.cos.data(), s.sin.data());
      for (int64_t h = 0; h < nh; ++h) {
        const float* src = s.qg.data() + t * q_width + h * hd * (gated ? 2 : 1);
        float* q = s.q.data() + (t * nh + h) * hd;
        rms_norm(src, w.q_norm.data(), hd, c.rms_norm_eps, q);
        rope.apply(q, s.cos.data(), s.sin.data());
      }
      float* k = s.k.data() + t * kv_width;
      for (int64_t g = 0; g < nkv; ++g) {
        rms_norm(k + g * hd, w.k_norm.data(), hd, c.rms_norm_eps, k + g * hd);
        rope.apply(k + g * hd, s.cos.data(), s.sin.data());
      }
      const int64_t index = base + (t - r.begin);
      cache.store(index, k, s.v.data() + t * kv_width);
      s.row_cache[t] = &cache;
      s.row_visible[t] = index + 1;
    }
    longest = std::max(longest, base + r.count);
  }

  // 4. Causal GQA: query head h of batch row t reads kv head ⌊h / (nh/nkv)⌋ of its sequence's
  // cache over indices 0 … row_visible[t] − 1 (its own index included). 5. Multiply by σ(gate)
  // before the output projection.
  // Per (token, kv head) its `group` query heads attend together, so each cached row is read
  // once for all of them (attend_group). In decode there are only nkv such pairs per layer, so
  // long runs of rows are split across the threads (flash-decoding) and merged.
  s.attn.resize(T * nh * hd);
  const int64_t group = nh / nkv;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  auto apply_gate = [&](int64_t t, int64_t h0) {
    if (!gated) return;
    for (int64_t h = h0; h < h0 + group; ++h) {
      float* o = s.attn.data() + (t * nh + h) * hd;
      const float* gate = s.qg.data() + t * q_width + h * 2 * hd + hd;
      for (int64_t i = 0; i < hd; ++i) o[i] *= sigmoid(gate[i]);
    }
  };
  // Prefill at depth: a batch continuing a sequence that already holds `base` rows. Each query
  // block of up to kQueryBlock of its tokens reads the old rows [0, base) once for all its
  // tokens' heads (one attend_group_partial with kQueryBlock · group heads: each key / value
  // block is used by all of them while in L1) instead of once per token; each token then adds
  // its own part of the new rows [base, visible) and the two partial softmaxes are merged.
  // Equal to the per-token form up to float rounding.
  // Used when some sequence feeds several tokens and every sequence is that deep already.
  bool at_depth = T > static_cast<int64_t>(rows.size());
  std::vector<QueryBlock>& blocks = s.blocks;
  blocks.clear();
  for (const GatedAttentionRows& r : rows) {
    const int64_t base = s.row_visible[r.begin] - 1;  // rows before this batch
    at_depth = at_depth && base >= kQueryBlockMinDepth;
    for (int64_t t0 = r.begin; t0 < r.begin + r.count; t0 += kQueryBlock)
      blocks.push_back({t0, std::min(kQueryBlock, r.begin + r.count - t0), base});
  }
  const int64_t pairs = T * nkv;
  const int64_t splits = attention_splits(pairs, longest, compute.pool.num_threads());
  const int64_t work = longest * hd * 2 * group;  // multiply-adds of the longest pair
  if (at_depth) {
    const int64_t heads = kQueryBlock * group;
    // Per thread: gathered queries and the prefix partial of a block [heads][hd] each, its max
    // and sum [heads] each, and one token's two partials to merge [2][group][hd] + 2 × [2][group].
    const int64_t per_thread = 2 * heads * hd + 2 * heads + 2 * group * hd + 4 * group;
    s.block_work.resize(per_thread * compute.pool.num_threads());
    compute.run(static_cast<int64_t>(blocks.size()) * nkv, work * kQueryBlock,
                [&](int64_t task, int thread) {
      const QueryBlock& b = blocks[task / nkv];
      const int64_t g = task % nkv, h0 = g * group, n = b.count * group;
      float* qb = s.block_work.data() + thread * per_thread;
      float* acc = qb + heads * hd;
      float* m = acc + heads * hd;
      float* l = m + heads;
      float* acc2 = l + heads;
      float* ml2 = acc2 + 2 * group * hd;  // max [2][group], then sum [2][group]
      for (int64_t i = 0; i < b.count; ++i)
        std::copy_n(s.q.data() + ((b.t0 + i) * nh + h0) * hd, group * hd, qb + i * group * hd);
      const KVRows kv = s.row_cache[b.t0]->head(g);
      attend_group_partial(qb, static_cast<int>(n), kv, 0, b.base, static_cast<int>(hd), scale,
                           acc, m, l);
      for (int64_t i = 0; i < b.count; ++i) {
        const int64_t t = b.t0 + i;
        std::copy_n(acc + i * group * hd, group * hd, acc2);
        std::copy_n(m + i * group, group, ml2);
        std::copy_n(l + i * group, group, ml2 + 2 * group);
        attend_group_partial(qb + i * group * hd, static_cast<int>(group), kv, b.base,
                             s.row_visible[t], static_cast<int>(hd), scale, acc2 + group * hd,
                             ml2 + group, ml2 + 3 * group);
        merge_attend_partials(2, static_cast<int>(group), static_cast<int>(hd), acc2, ml2,
                              ml2 + 2 * group, s.attn.data() + (t * nh + h0) * hd);
        apply_gate(t, h0);
      }
    });
  } else if (splits == 1) {
    compute.run(pairs, work, [&](int64_t task, int) {
      const int64_t t = task / nkv, g = task % nkv, h0 = g * group;
      attend_group(s.q.data() + (t * nh + h0) * hd, static_cast<int>(group),
                   s.row_cache[t]->head(g), s.row_visible[t], static_cast<int>(hd), scale,
                   s.attn.data() + (t * nh + h0) * hd);
      apply_gate(t, h0);
    });
  } else {
    const int64_t parts = pairs * splits;
    s.part_acc.resize(parts * group * hd);
    s.part_max.resize(parts * group);
    s.part_sum.resize(parts * group);
    // Splits at whole kernel blocks: the same blocks whatever the number of splits, so a
    // quantized cache's Int8 path rounds alike in every batch shape (kAttendBlockRows).
    const auto split_at = [splits](int64_t count, int64_t i) {
      return i == splits ? count : count * i / splits / kAttendBlockRows * kAttendBlockRows;
    };
    compute.run(parts, work / splits, [&](int64_t task, int) {
      const int64_t pair = task / splits, i = task % splits;
      const int64_t t = pair / nkv, g = pair % nkv, h0 = g * group;
      const int64_t count = s.row_visible[t];
      attend_group_partial(s.q.data() + (t * nh + h0) * hd, static_cast<int>(group),
                           s.row_cache[t]->head(g), split_at(count, i), split_at(count, i + 1),
                           static_cast<int>(hd), scale, s.part_acc.data() + task * group * hd,
                           s.part_max.data() + task * group, s.part_sum.data() + task * group);
    });
    for (int64_t pair = 0; pair < pairs; ++pair) {
      const int64_t t = pair / nkv, h0 = (pair % nkv) * group;
      merge_attend_partials(static_cast<int>(splits), static_cast<int>(group),
                            static_cast<int>(hd), s.part_acc.data() + pair * splits * group * hd,
                            s.part_max.data() + pair * splits * group,
                            s.part_sum.data() + pair * splits * group,
                            s.attn.data() + (t * nh + h0) * hd);
      apply_gate(t, h0);
    }
  }
  if (tap) (*tap)("self_attn.o_proj", w.o_proj, s.attn.data(), T);
  compute.matmul(w.o_proj, s.attn.data(), T, out);
}

int64_t attention_splits(int64_t pairs, int64_t rows, int threads) {
  // Enough tasks for a few per thread (a late or descheduled thread's share is picked up by the
  // others), but ranges of at least kMinRows rows so the merge stays negligible.
  constexpr int64_t kTasksPerThread = 4, kMinRows = 256;
  if (threads <= 1 || pairs >= kTasksPerThread * threads) return 1;
  const int64_t wanted = (kTasksPerThread * threads + pairs - 1) / pairs;
  return std::max<int64_t>(1, std::min(wanted, rows / kMinRows));
}

}  // namespace tf
