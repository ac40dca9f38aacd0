#include "model/moe.h"

#include <algorithm>
#include <string>

#include "kernels/ops.h"

namespace tf {

void swiglu_forward(const SwiGluWeights& w, const float* x, int64_t T, float* out,
                    SwiGluScratch& s, const Compute& compute, const LinearTap* tap,
                    const char* module, int expert) {
  const int64_t I = w.gate.rows;
  s.gate.resize(T * I);
  s.up.resize(T * I);
  const MatmulJob gate_up[] = {{&w.gate, x, T, s.gate.data()}, {&w.up, x, T, s.up.data()}};
  compute.batch(gate_up);
  if (tap) {
    (*tap)((std::string(module) + "gate_proj").c_str(), w.gate, x, T, expert);
    (*tap)((std::string(module) + "up_proj").c_str(), w.up, x, T, expert);
  }
  swiglu(s.gate.data(), s.up.data(), T * I, s.gate.data());
  if (tap) (*tap)((std::string(module) + "down_proj").c_str(), w.down, s.gate.data(), T, expert);
  compute.matmul(w.down, s.gate.data(), T, out);
}

void select_top_k(const float* probs, int num_experts, int k, int32_t* ids) {
  // k passes over the experts, each taking the best one ranked after the previous pick: no
  // buffer to allocate (this runs per token and layer in decode), and k ≤ 8 of 256 experts
  // makes it about as cheap as a partial sort.
  auto ranks_before = [&](int32_t a, int32_t b) {
    return probs[a] > probs[b] || (probs[a] == probs[b] && a < b);
  };
  for (int i = 0; i < k; ++i) {
    int32_t best = -1;
    for (int32_t e = 0; e < num_experts; ++e) {
      if (i > 0 && !ranks_before(ids[i - 1], e)) continue;
      if (best < 0 || ranks_before(e, best)) best = e;
    }
    ids[i] = best;
  }
}

void moe_forward(const MoeWeights& w, const TextConfig& c, const float* x, int64_t T, float* out,
                 MoeScratch& s, const Compute& compute, const LinearTap* tap) {
  const int64_t H = c.hidden_size, I = c.moe_intermediate_size;
  const int E = c.num_experts, k = c.num_experts_per_tok;
  const int64_t R = T * k;  // routed (token, slot) rows

  // 1–2. Router probabilities, top-k, renormalised weights.
  s.router.resize(T * E);
  s.selected.resize(R);
  s.weights.resize(R);
  compute.matmul(w.router, x, T, s.router.data());
  if (tap) (*tap)("mlp.gate", w.router, x, T);
  // The element-wise steps below run on the pool too: in a prefill they are a few percent of
  // the work, and on one thread the other core would wait for them.
  compute.run(T, 4 * E, [&](int64_t t, int) {
    float* p = s.router.data() + t * E;
    softmax_inplace(p, E);
    int32_t* ids = s.selected.data() + t * k;
    select_top_k(p, E, k, ids);
    float sum = 0.0f;
    for (int i = 0; i < k; ++i) sum += p[ids[i]];
    const float norm = c.norm_topk_prob ? 1.0f / sum : 1.0f;
    for (int i = 0; i < k; ++i) s.weights[t * k + i] = p[ids[i]] * norm;
  });

  // Group rows by expert (counting sort keeps token order within an expert) and gather their
  // inputs, so expert e's tokens are rows [expert_begin[e], expert_begin[e + 1]) of xs.
  s.expert_begin.assign(E + 1, 0);
  for (int64_t r = 0; r < R; ++r) ++s.expert_begin[s.selected[r] + 1];
  for (int e = 0; e < E; ++e) s.expert_begin[e + 1] += s.expert_begin[e];
  s.rows.resize(R);
  s.cursor.assign(s.expert_begin.begin(), s.expert_begin.end() - 1);
  for (int64_t r = 0; r < R; ++r) s.rows[s.cursor[s.selected[r]]++] = r;
  s.xs.resize(R * H);
  constexpr int64_t kRowsPerTask = 16;  // rows of the element-wise tasks below
  compute.run((R + kRowsPerTask - 1) / kRowsPerTask, kRowsPerTask * H, [&](int64_t task, int) {
    for (int64_t i = task * kRowsPerTask; i < std::min(R, (task + 1) * kRowsPerTask); ++i) {
      const int64_t t = s.rows[i] / k;
      std::copy(x + t * H, x + (t + 1) * H, s.xs.data() + i * H);
    }
  });

  // 3–4. Gate and up of every selected expert on its tokens, plus the shared expert's gate/up
  // and its scalar gate logit, in one dispatch.
  s.gate.resize(R * I);
  s.up.resize(R * I);
  s.ys.resize(R * H);
  const int64_t Is = w.has_shared_expert ? w.shared_expert.gate.rows : 0;
  s.swiglu.gate.resize(T * Is);
  s.swiglu.up.resize(T * Is);
  s.shared.resize(T * H);
  s.shared_gate.resize(T);
  auto for_each_expert = [&](auto&& fn) {
    for (int e = 0; e < E; ++e) {
      const int64_t begin = s.expert_begin[e], n = s.expert_begin[e + 1] - begin;
      if (n > 0) fn(e, begin, n);
    }
  };
  s.jobs.clear();
  for_each_expert([&](int e, int64_t begin, int64_t n) {
    s.jobs.push_back({&w.experts[e].gate, s.xs.data() + begin * H, n, s.gate.data() + begin * I});
    s.jobs.push_back({&w.experts[e].up, s.xs.data() + begin * H, n, s.up.data() + begin * I});
  });
  if (w.has_shared_expert) {
    s.jobs.push_back({&w.shared_expert.gate, x, T, s.swiglu.gate.data()});
    s.jobs.push_back({&w.shared_expert.up, x, T, s.swiglu.up.data()});
    s.jobs.push_back({&w.shared_expert_gate, x, T, s.shared_gate.data()});
  }
  compute.batch(s.jobs);
  // Routed rows, then the shared expert's tokens, kRowsPerTask at a time.
  const int64_t routed_tasks = (R + kRowsPerTask - 1) / kRowsPerTask;
  const int64_t shared_tasks = Is > 0 ? (T + kRowsPerTask - 1) / kRowsPerTask : 0;
  compute.run(routed_tasks + shared_tasks, 8 * kRowsPerTask * I, [&](int64_t task, int) {
    if (task < routed_tasks) {
      const int64_t i = task * kRowsPerTask, n = std::min(R - i, kRowsPerTask);
      swiglu(s.gate.data() + i * I, s.up.data() + i * I, n * I, s.gate.data() + i * I);
    } else {
      const int64_t t = (task - routed_tasks) * kRowsPerTask, n = std::min(T - t, kRowsPerTask);
      swiglu(s.swiglu.gate.data() + t * Is, s.swiglu.up.data() + t * Is, n * Is,
             s.swiglu.gate.data() + t * Is);
    }
  });

  // Down projections, again in one dispatch.
  s.jobs.clear();
  for_each_expert([&](int e, int64_t begin, int64_t n) {
    s.jobs.push_back({&w.experts[e].down, s.gate.data() + begin * I, n, s.ys.data() + begin * H});
  });
  if (w.has_shared_expert)
    s.jobs.push_back({&w.shared_expert.down, s.swiglu.gate.data(), T, s.shared.data()});
  compute.batch(s.jobs);

  if (tap) {
    for_each_expert([&](int e, int64_t begin, int64_t n) {
      (*tap)("mlp.switch_mlp.gate_proj", w.experts[e].gate, s.xs.data() + begin * H, n, e);
      (*tap)("mlp.switch_mlp.up_proj", w.experts[e].up, s.xs.data() + begin * H, n, e);
      (*tap)("mlp.switch_mlp.down_proj", w.experts[e].down, s.gate.data() + begin * I, n, e);
    });
    if (w.has_shared_expert) {
      (*tap)("mlp.shared_expert.gate_proj", w.shared_expert.gate, x, T);
      (*tap)("mlp.shared_expert.up_proj", w.shared_expert.up, x, T);
      (*tap)("mlp.shared_expert.down_proj", w.shared_expert.down, s.swiglu.gate.data(), T);
      (*tap)("mlp.shared_expert_gate", w.shared_expert_gate, x, T);
    }
  }

  // 5. out = Σ_e w_e E_e(x) + σ(w_sg · x) E_s(x), the shared gate a scalar per token. Each
  // token sums its experts in ascending expert order (the order of `rows`), one task per token.
  s.token_rows.resize(R);
  s.cursor.assign(T, 0);
  for (int64_t i = 0; i < R; ++i) {
    const int64_t t = s.rows[i] / k;
    s.token_rows[t * k + s.cursor[t]++] = i;
  }
  compute.run(T, k * H, [&](int64_t t, int) {
    float* o = out + t * H;
    std::fill(o, o + H, 0.0f);
    for (int j = 0; j < k; ++j) {
      const int64_t i = s.token_rows[t * k + j];
      axpy(s.weights[s.rows[i]], s.ys.data() + i * H, o, H);
    }
    if (w.has_shared_expert) axpy(sigmoid(s.shared_gate[t]), s.shared.data() + t * H, o, H);
  });
}

}  // namespace tf
