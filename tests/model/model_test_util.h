// Shared helpers of the model tests: fixture paths, the tiny model loaded once per test suite,
// random token lists, running a session over a token list, comparing logits.
#pragma once

#include <cmath>
#include <cstdint>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "model/session.h"
#include "storage/npy.h"

namespace tf::test {

inline std::string tiny_dir() { return std::string(TIGHTFIT_TEST_DATA) + "/tiny-qwen35moe-a"; }

// The token list `key` of the fixture's tokens.json (model_test_util.cpp).
std::vector<int32_t> fixture_tokens(const std::string& key);

// Test fixture base that loads the tiny fixture model (2 threads) once per test suite, for the
// suite's tests to share as `model_`. Base: ::testing::Test or a TestWithParam<...>.
template <typename Base = ::testing::Test>
class TinyModelSuite : public Base {
 protected:
  static void SetUpTestSuite() { model_ = Model::load(tiny_dir(), 2).release(); }
  static void TearDownTestSuite() {
    delete model_;
    model_ = nullptr;
  }
  static inline Model* model_ = nullptr;
};

// `n` token ids drawn uniformly from the tiny model's vocabulary (0..511), the same for a seed.
inline std::vector<int32_t> random_tokens(int n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int32_t> d(0, 511);
  std::vector<int32_t> t(n);
  for (auto& x : t) x = d(rng);
  return t;
}

// Logits of every position from one prefill call ([T][V]).
inline std::vector<float> prefill_logits(const Model& m, const std::vector<int32_t>& tokens,
                                         SessionOptions opt = {}) {
  Session s(m, opt);
  auto l = s.prefill(tokens, true);
  return {l.begin(), l.end()};
}

// Logits of every position from one decode call per token ([T][V]).
inline std::vector<float> decode_logits(const Model& m, const std::vector<int32_t>& tokens,
                                        SessionOptions opt = {}) {
  Session s(m, opt);
  std::vector<float> out;
  for (int32_t t : tokens) {
    auto l = s.decode(t);
    out.insert(out.end(), l.begin(), l.end());
  }
  return out;
}

// ‖a − b‖ / ‖b‖ over one row of n values.
inline double relative_l2(const float* a, const float* b, int64_t n) {
  double num = 0, den = 0;
  for (int64_t i = 0; i < n; ++i) {
    num += (static_cast<double>(a[i]) - b[i]) * (static_cast<double>(a[i]) - b[i]);
    den += static_cast<double>(b[i]) * b[i];
  }
  return std::sqrt(num / den);
}

inline int64_t argmax(const float* x, int64_t n) {
  int64_t best = 0;
  for (int64_t i = 1; i < n; ++i)
    if (x[i] > x[best]) best = i;
  return best;
}

// Largest per-row relative L2 error of `got` against `want` ([rows][n]).
inline double max_row_relative_l2(const std::vector<float>& got, const std::vector<float>& want,
                                  int64_t n) {
  double worst = 0;
  for (size_t r = 0; r * n < want.size(); ++r)
    worst = std::max(worst, relative_l2(got.data() + r * n, want.data() + r * n, n));
  return worst;
}

// KL(p ‖ q) of the softmax distributions of two logit rows, in nats.
inline double kl_divergence(const float* p_logits, const float* q_logits, int64_t n) {
  auto log_softmax = [n](const float* x) {
    double m = x[0];
    for (int64_t i = 1; i < n; ++i) m = std::max(m, static_cast<double>(x[i]));
    double s = 0;
    for (int64_t i = 0; i < n; ++i) s += std::exp(x[i] - m);
    std::vector<double> out(n);
    for (int64_t i = 0; i < n; ++i) out[i] = x[i] - m - std::log(s);
    return out;
  };
  const auto lp = log_softmax(p_logits), lq = log_softmax(q_logits);
  double kl = 0;
  for (int64_t i = 0; i < n; ++i) kl += std::exp(lp[i]) * (lp[i] - lq[i]);
  return kl;
}

}  // namespace tf::test
