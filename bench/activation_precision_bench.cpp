// What int8 activations (ActivationPrecision::Int8) cost in accuracy: the same tokens through a
// model with float and with int8 activations against its quantized weights, compared per
// position by KL(p_f32 ‖ p_int8) of the next-token distributions and top-1 agreement — next to
// the same figures between two other models (e.g. the bf16 original and its quantized
// conversion), so the activation rounding can be read against what quantization itself costs.
//
//   ./build/bench/activation_precision_bench MODEL_DIR [TOKENS=64] [REFERENCE_DIR]
//
// With REFERENCE_DIR (same vocabulary), also prints KL(p_reference ‖ p_model) with float
// activations. Tokens are random ids (seeded), fed as one prefill; then 16 decode steps.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "model/session.h"

namespace {

using tf::ActivationPrecision;

// Log-softmax of one row, in double.
std::vector<double> log_probs(const float* logits, int64_t V) {
  double m = -INFINITY;
  for (int64_t i = 0; i < V; ++i) m = std::max(m, static_cast<double>(logits[i]));
  double s = 0;
  for (int64_t i = 0; i < V; ++i) s += std::exp(logits[i] - m);
  const double lse = m + std::log(s);
  std::vector<double> out(V);
  for (int64_t i = 0; i < V; ++i) out[i] = logits[i] - lse;
  return out;
}

struct Compare {
  double mean_kl = 0, max_kl = 0, top1 = 0, mean_entropy = 0;
  int rows = 0;
};

// KL(p ‖ q) per row of two [rows][V] logit arrays.
Compare compare(const std::vector<float>& p, const std::vector<float>& q, int64_t V) {
  Compare c;
  c.rows = static_cast<int>(p.size() / V);
  for (int r = 0; r < c.rows; ++r) {
    const auto lp = log_probs(p.data() + r * V, V), lq = log_probs(q.data() + r * V, V);
    double kl = 0, h = 0;
    for (int64_t i = 0; i < V; ++i) {
      const double pi = std::exp(lp[i]);
      kl += pi * (lp[i] - lq[i]);
      h -= pi * lp[i];
    }
    c.mean_kl += kl;
    c.max_kl = std::max(c.max_kl, kl);
    c.mean_entropy += h;
    const auto am = [&](const std::vector<double>& v) { return std::max_element(v.begin(), v.end()) - v.begin(); };
    c.top1 += am(lp) == am(lq);
  }
  c.mean_kl /= c.rows;
  c.mean_entropy /= c.rows;
  c.top1 /= c.rows;
  return c;
}

// Logits of every prompt position (one prefill) and of `decode_steps` decode steps after it.
std::vector<float> run(const tf::Model& m, const std::vector<int32_t>& prompt,
                       const std::vector<int32_t>& gen, ActivationPrecision p) {
  tf::SessionOptions o;
  o.precision = p;
  tf::Session s(m, o);
  auto l = s.prefill(prompt, true);
  std::vector<float> out(l.begin(), l.end());
  for (int32_t t : gen) {
    auto d = s.decode(t);
    out.insert(out.end(), d.begin(), d.end());
  }
  return out;
}

void print(const char* what, const Compare& c) {
  std::printf("%-34s KL mean %.3e  max %.3e nats  top-1 agree %5.1f %%  (entropy of p %.2f nats, %d positions)\n",
              what, c.mean_kl, c.max_kl, 100 * c.top1, c.mean_entropy, c.rows);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s MODEL_DIR [TOKENS=64] [REFERENCE_DIR]\n", argv[0]);
    return 2;
  }
  const int n = argc > 2 ? std::atoi(argv[2]) : 64;
  auto model = tf::Model::load(argv[1], 0);
  const int64_t V = model->vocab_size();
  std::mt19937 rng(11);
  std::uniform_int_distribution<int32_t> d(0, static_cast<int32_t>(std::min<int64_t>(V, 248044) - 1));
  std::vector<int32_t> prompt(n), gen(16);
  for (auto& t : prompt) t = d(rng);
  for (auto& t : gen) t = d(rng);

  std::printf("model %s: %d prompt positions + %zu decode steps\n", argv[1], n, gen.size());
  const auto f32 = run(*model, prompt, gen, ActivationPrecision::F32);
  const auto i8 = run(*model, prompt, gen, ActivationPrecision::Int8);
  print("int8 vs f32 activations:", compare(f32, i8, V));
  if (argc > 3) {
    auto ref = tf::Model::load(argv[3], 0);
    if (ref->vocab_size() != V) {
      std::fprintf(stderr, "reference vocabulary %lld != %lld\n", static_cast<long long>(ref->vocab_size()),
                   static_cast<long long>(V));
      return 1;
    }
    const auto r = run(*ref, prompt, gen, ActivationPrecision::F32);
    print("model vs reference (f32 acts):", compare(r, f32, V));
    print("model int8 vs reference (f32 acts):", compare(r, i8, V));
  }
  return 0;
}
