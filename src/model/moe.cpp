#include "model/moe.h"

#include <algorithm>
#include <numeric>

#include "kernels/linear.h"
#include "kernels/ops.h"

namespace tf {

void swiglu_forward(const SwiGluWeights& w, const float* x, int64_t T, float* out,
                    SwiGluScratch& s, ThreadPool& pool) {
  const int64_t I = w.gate.rows;
  s.gate.resize(T * I);
  s.up.resize(T * I);
  matmul(w.gate, x, T, s.gate.data(), pool);
  matmul(w.up, x, T, s.up.data(), pool);
  swiglu(s.gate.data(), s.up.data(), T * I, s.gate.data());
  matmul(w.down, s.gate.data(), T, out, pool);
}

void select_top_k(const float* probs, int num_experts, int k, int32_t* ids) {
  std::vector<int32_t> order(num_experts);
  std::iota(order.begin(), order.end(), 0);
  std::partial_sort(order.begin(), order.begin() + k, order.end(), [&](int32_t a, int32_t b) {
    return probs[a] > probs[b] || (probs[a] == probs[b] && a < b);
  });
  std::copy(order.begin(), order.begin() + k, ids);
}

void moe_forward(const MoeWeights& w, const TextConfig& c, const float* x, int64_t T, float* out,
                 MoeScratch& s, ThreadPool& pool) {
  const int64_t H = c.hidden_size;
  const int E = c.num_experts, k = c.num_experts_per_tok;

  // 1–2. Router probabilities, top-k, renormalised weights.
  s.router.resize(T * E);
  s.selected.resize(T * k);
  s.weights.resize(T * k);
  matmul(w.router, x, T, s.router.data(), pool);
  for (int64_t t = 0; t < T; ++t) {
    float* p = s.router.data() + t * E;
    softmax_inplace(p, E);
    int32_t* ids = s.selected.data() + t * k;
    select_top_k(p, E, k, ids);
    float sum = 0.0f;
    for (int i = 0; i < k; ++i) sum += p[ids[i]];
    const float norm = c.norm_topk_prob ? 1.0f / sum : 1.0f;
    for (int i = 0; i < k; ++i) s.weights[t * k + i] = p[ids[i]] * norm;
  }

  // Group (token, slot) pairs by expert: counting sort keeps token order within an expert.
  s.expert_begin.assign(E + 1, 0);
  for (int64_t r = 0; r < T * k; ++r) ++s.expert_begin[s.selected[r] + 1];
  for (int e = 0; e < E; ++e) s.expert_begin[e + 1] += s.expert_begin[e];
  s.rows.resize(T * k);
  {
    std::vector<int64_t> fill(s.expert_begin.begin(), s.expert_begin.end() - 1);
    for (int64_t r = 0; r < T * k; ++r) s.rows[fill[s.selected[r]]++] = r;
  }

  // 3. Each selected expert on its gathered tokens; scatter-add weighted results.
  std::fill(out, out + T * H, 0.0f);
  for (int e = 0; e < E; ++e) {
    const int64_t begin = s.expert_begin[e], n = s.expert_begin[e + 1] - begin;
    if (n == 0) continue;
    s.xs.resize(n * H);
    s.ys.resize(n * H);
    for (int64_t i = 0; i < n; ++i) {
      const int64_t t = s.rows[begin + i] / k;
      std::copy(x + t * H, x + (t + 1) * H, s.xs.data() + i * H);
    }
    swiglu_forward(w.experts[e], s.xs.data(), n, s.ys.data(), s.swiglu, pool);
    for (int64_t i = 0; i < n; ++i) {
      const int64_t r = s.rows[begin + i];
      axpy(s.weights[r], s.ys.data() + i * H, out + (r / k) * H, H);
    }
  }

  // 4–5. Shared expert scaled by the scalar σ(w_sg · x) per token.
  if (w.has_shared_expert) {
    s.shared.resize(T * H);
    s.shared_gate.resize(T);
    swiglu_forward(w.shared_expert, x, T, s.shared.data(), s.swiglu, pool);
    matmul(w.shared_expert_gate, x, T, s.shared_gate.data(), pool);
    for (int64_t t = 0; t < T; ++t)
      axpy(sigmoid(s.shared_gate[t]), s.shared.data() + t * H, out + t * H, H);
  }
}

}  // namespace tf
