// Row operations, the causal conv, attention and the gated delta rule against direct
// (double-precision, written-from-the-formula) computations.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/ops.h"
#include "kernels/ops_attention.h"
#include "kernels/ops_conv.h"
#include "kernels/ops_delta_rule.h"
#include "kernels/simd_targets.h"

namespace tf {
namespace {

std::vector<float> randn(size_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

TEST(Ops, RmsNormVariants) {
  const auto x = randn(48, 1), w = randn(48, 2), z = randn(48, 3);
  double ss = 0;
  for (float v : x) ss += double(v) * v;
  const double r = 1.0 / std::sqrt(ss / 48 + 1e-6);
  std::vector<float> y(48), g(48);
  rms_norm(x.data(), w.data(), 48, 1e-6f, y.data());
  rms_norm_gated(x.data(), w.data(), z.data(), 48, 1e-6f, g.data());
  for (int i = 0; i < 48; ++i) {
    EXPECT_NEAR(y[i], x[i] * r * w[i], 1e-5);
    EXPECT_NEAR(g[i], x[i] * r * w[i] * (z[i] / (1 + std::exp(-double(z[i])))), 1e-5);
  }
  // In place.
  auto xi = x;
  rms_norm(xi.data(), w.data(), 48, 1e-6f, xi.data());
  EXPECT_EQ(xi, y);
}

// The SIMD silu loop (vector exp) against the scalar reference: every length from 0 to past two
// vectors of the widest target (tails), in place, and the extremes where e^{-x} over- or
// underflows. Highway's Exp is within a few ulp, so 4e-7 relative plus a tiny absolute slack.
TEST(Ops, SimdSiluActivationsMatchTheScalarReference) {
  auto close = [](float got, float want) {
    return std::fabs(got - want) <= 4e-7f * std::fabs(want) + 1e-30f;
  };
  test::for_each_target([&] {
    for (int n = 0; n <= 40; ++n) {
      auto g = randn(n, 10 + n, 4.0f), u = randn(n, 60 + n), w = randn(n, 90 + n);
      if (n > 3) {
        g[0] = -100.0f;  // e^{100} = inf: silu → -0
        g[1] = 100.0f;   // silu(x) = x
        g[2] = -87.0f;
        g[3] = 0.0f;
      }
      std::vector<float> got(n), want(n);
      swiglu(g.data(), u.data(), n, got.data());
      reference::swiglu(g.data(), u.data(), n, want.data());
      for (int i = 0; i < n; ++i) ASSERT_TRUE(close(got[i], want[i])) << n << " " << i;

      auto in_place = g, ref = g;
      silu_inplace(in_place.data(), n);
      reference::silu_inplace(ref.data(), n);
      for (int i = 0; i < n; ++i) ASSERT_TRUE(close(in_place[i], ref[i])) << n << " " << i;
      if (n > 3) {
        EXPECT_EQ(in_place[0], 0.0f);
        EXPECT_EQ(in_place[1], 100.0f);
        EXPECT_EQ(in_place[3], 0.0f);
      }

      if (n == 0) continue;
      reference::rms_norm_gated(u.data(), w.data(), g.data(), n, 1e-6f, want.data());
      auto x = u;  // out aliasing x
      rms_norm_gated(x.data(), w.data(), g.data(), n, 1e-6f, x.data());
      for (int i = 0; i < n; ++i)
        ASSERT_NEAR(x[i], want[i], 1e-6f * (1.0f + std::fabs(want[i]))) << n << " " << i;
    }
  });
}

// scan_row and first_argmax against the scalar reference on every target, at every length
// around the vector tails: ties (the first index wins), an all −inf row, a maximum in the tail,
// and NaN or +inf anywhere flagged.
TEST(Ops, RowScanAndFirstArgmaxMatchTheReference) {
  const float inf = std::numeric_limits<float>::infinity();
  test::for_each_target([&] {
    for (int n = 1; n <= 70; ++n) {
      auto x = randn(n, 300 + n);
      for (float& v : x) v = std::round(v * 2.0f);  // few distinct values: ties
      auto check = [&](const std::vector<float>& row, const char* what) {
        const FloatRowScan got = scan_row(row.data(), n), want = reference::scan_row(row.data(), n);
        ASSERT_EQ(got.nan_or_inf, want.nan_or_inf) << what << " n=" << n;
        if (want.nan_or_inf) return;
        ASSERT_EQ(got.max, want.max) << what << " n=" << n;
        ASSERT_EQ(first_argmax(row.data(), n), reference::first_argmax(row.data(), n))
            << what << " n=" << n;
      };
      check(x, "random");
      auto tail = x;
      tail[n - 1] = 100.0f;
      check(tail, "maximum last");
      check(std::vector<float>(n, -inf), "all -inf");
      EXPECT_EQ(first_argmax(std::vector<float>(n, -inf).data(), n), 0);
      for (const int at : {0, n / 2, n - 1}) {
        auto bad = x;
        bad[at] = std::nanf("");
        EXPECT_TRUE(scan_row(bad.data(), n).nan_or_inf) << "NaN at " << at << " n=" << n;
        bad[at] = inf;
        EXPECT_TRUE(scan_row(bad.data(), n).nan_or_inf) << "+inf at " << at << " n=" << n;
        bad[at] = -inf;
        EXPECT_FALSE(scan_row(bad.data(), n).nan_or_inf) << "-inf at " << at << " n=" << n;
      }
    }
  });
}

TEST(Ops, L2NormalizeAndSoftmax) {
  auto x = randn(16, 4);
  l2_normalize(x.data(), 16, 1e-6f, 0.25f);
  double n2 = 0;
  for (float v : x) n2 += double(v) * v;
  EXPECT_NEAR(std::sqrt(n2), 0.25, 1e-6);
  std::vector<float> s = {1000.0f, 1000.0f, -1000.0f};  // no overflow
  softmax_inplace(s.data(), 3);
  EXPECT_FLOAT_EQ(s[0], 0.5f);
  EXPECT_FLOAT_EQ(s[1], 0.5f);
  EXPECT_EQ(s[2], 0.0f);
  EXPECT_NEAR(softplus(-30.0f), std::exp(-30.0), 1e-18);
  EXPECT_FLOAT_EQ(softplus(50.0f), 50.0f);
}

TEST(Ops, RopeHalfSplitPairsIWithIPlusHalf) {
  std::vector<float> x = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};  // 8 rotary dims + 2 passing through
  const float c[4] = {1, 0, std::cos(0.5f), -1}, s[4] = {0, 1, std::sin(0.5f), 0};
  rope_half_split(x.data(), 4, c, s);
  EXPECT_FLOAT_EQ(x[0], 1);    // angle 0
  EXPECT_FLOAT_EQ(x[4], 5);
  EXPECT_FLOAT_EQ(x[1], -6);   // angle π/2: (2, 6) → (−6, 2)
  EXPECT_FLOAT_EQ(x[5], 2);
  EXPECT_FLOAT_EQ(x[2], 3 * std::cos(0.5f) - 7 * std::sin(0.5f));
  EXPECT_FLOAT_EQ(x[6], 7 * std::cos(0.5f) + 3 * std::sin(0.5f));
  EXPECT_FLOAT_EQ(x[3], -4);   // angle π
  EXPECT_FLOAT_EQ(x[7], -8);
  EXPECT_EQ(x[8], 9);
  EXPECT_EQ(x[9], 10);
}

TEST(Ops, AttendIsSoftmaxWeightedValues) {
  const int n = 9, dim = 8, stride = 20;
  const auto q = randn(dim, 5), kv = randn(n * stride, 6);
  const float* keys = kv.data();
  const float* values = kv.data() + 10;
  std::vector<float> scores(n), out(dim);
  attend(q.data(), keys, values, n, stride, dim, 0.3f, scores.data(), out.data());
  std::vector<double> p(n);
  double m = -1e300, sum = 0;
  for (int i = 0; i < n; ++i) {
    double d = 0;
    for (int j = 0; j < dim; ++j) d += double(q[j]) * keys[i * stride + j];
    p[i] = 0.3 * d;
    m = std::max(m, p[i]);
  }
  for (auto& v : p) sum += (v = std::exp(v - m));
  for (int j = 0; j < dim; ++j) {
    double o = 0;
    for (int i = 0; i < n; ++i) o += p[i] / sum * values[i * stride + j];
    EXPECT_NEAR(out[j], o, 1e-5);
  }
}

// axpy's blocks of 8 and its tail give each element y + α·x, at every length, and nothing past
// n. (Within a rounding: where the compiler fuses the multiply-add, as on ARM, the product is
// not rounded on its own.)
TEST(Ops, AxpyIsElementwiseAtEveryLength) {
  for (int n : {0, 1, 7, 8, 21, 64}) {
    const auto x = randn(n + 1, 21), y0 = randn(n + 1, 22);
    std::vector<float> y = y0;
    axpy(-0.37f, x.data(), y.data(), n);
    for (int i = 0; i < n; ++i) {
      const double want = double(y0[i]) + double(-0.37f) * double(x[i]);
      EXPECT_NEAR(y[i], want, 1e-6 * (std::fabs(y0[i]) + std::fabs(x[i]))) << "n " << n << " at " << i;
    }
    EXPECT_EQ(y[n], y0[n]) << "n " << n << ": wrote past the end";
  }
}

TEST(Ops, CausalConvStateCarriesAcrossCalls) {
  const int C = 5, K = 4, T = 11;
  const auto x = randn(T * C, 7), w = randn(C * K, 8);
  // Direct: zero history, then out[t][c] = silu(Σ_k w[c][k] x[t − 3 + k][c]).
  std::vector<float> direct(T * C);
  for (int t = 0; t < T; ++t)
    for (int c = 0; c < C; ++c) {
      double acc = 0;
      for (int k = 0; k < K; ++k) {
        const int tau = t - (K - 1) + k;
        if (tau >= 0) acc += double(w[c * K + k]) * x[tau * C + c];
      }
      direct[t * C + c] = static_cast<float>(acc / (1 + std::exp(-acc)));
    }
  // In pieces of 1, 2 and 8 tokens (shorter and longer than the history), on every SIMD target.
  test::for_each_target([&] {
    std::vector<float> state((K - 1) * C, 0.0f), out(T * C);
    int t0 = 0;
    for (int piece : {1, 2, 8}) {
      causal_conv1d_silu(x.data() + t0 * C, piece, C, C, w.data(), K, state.data(),
                         out.data() + t0 * C);
      t0 += piece;
    }
    for (int i = 0; i < T * C; ++i) EXPECT_NEAR(out[i], direct[i], 1e-5) << i;
    // The state holds the last three raw inputs.
    for (int r = 0; r < K - 1; ++r)
      for (int c = 0; c < C; ++c) EXPECT_EQ(state[r * C + c], x[(T - 3 + r) * C + c]);
  });
}

// Channels split between calls (as the model splits them between threads: offset pointers,
// the full row as stride) give the whole call's outputs and state bit for bit — chunks of 5
// put channels in a vector tail in one call and a vector body in the other — for Qwen3.5's 4
// taps and another kernel size; sizes outside 1..kMaxConvTaps are refused.
TEST(Ops, CausalConvChannelChunksEqualTheWholeRow) {
  const int C = 37, T = 6;
  test::for_each_target([&] {
    for (int K : {4, 3}) {
      SCOPED_TRACE("K " + std::to_string(K));
      const auto x = randn(T * C, 11), w = randn(C * K, 12), s0 = randn((K - 1) * C, 13);
      std::vector<float> whole_state = s0, whole(T * C);
      causal_conv1d_silu(x.data(), T, C, C, w.data(), K, whole_state.data(), whole.data());
      std::vector<float> state = s0, out(T * C, -7.0f);
      for (int c0 = 0; c0 < C; c0 += 5) {  // chunks that start off the vector boundaries
        const int n = std::min(5, C - c0);
        causal_conv1d_silu(x.data() + c0, T, n, C, w.data() + c0 * K, K, state.data() + c0,
                           out.data() + c0);
      }
      EXPECT_EQ(out, whole);
      EXPECT_EQ(state, whole_state);
    }
  });
  std::vector<float> x(C), state(C * kMaxConvTaps), out(C), w(C * (kMaxConvTaps + 1));
  EXPECT_THROW(causal_conv1d_silu(x.data(), 1, C, C, w.data(), 0, state.data(), out.data()),
               std::invalid_argument);
  EXPECT_THROW(causal_conv1d_silu(x.data(), 1, C, C, w.data(), kMaxConvTaps + 1, state.data(),
                                  out.data()),
               std::invalid_argument);
}

// The recurrence S_t = α_t (I − β_t k_t k_tᵀ) S_{t−1} + β_t k_t v_tᵀ, o_t = S_tᵀ q_t in double.
void delta_rule_direct(std::vector<double>& S, const float* q, const float* k, const float* v,
                       double g, double beta, int dk, int dv, double* o) {
  const double a = std::exp(g);
  std::vector<double> e(dv, 0.0);
  for (int i = 0; i < dk; ++i)
    for (int j = 0; j < dv; ++j) e[j] += a * S[i * dv + j] * k[i];
  for (int i = 0; i < dk; ++i)
    for (int j = 0; j < dv; ++j) S[i * dv + j] = a * S[i * dv + j] + k[i] * beta * (v[j] - e[j]);
  for (int j = 0; j < dv; ++j) {
    o[j] = 0;
    for (int i = 0; i < dk; ++i) o[j] += S[i * dv + j] * q[i];
  }
}

class DeltaRule : public ::testing::TestWithParam<int> {};

TEST_P(DeltaRule, StepAndRunsMatchTheRecurrence) {
  const int T = GetParam(), dk = 8, dv = 12, stride = 40;  // q | k | v interleaved in rows
  auto rows = randn(T * stride, 10, 0.5f);
  for (int t = 0; t < T; ++t) {  // unit-norm keys as in the model
    l2_normalize(rows.data() + t * stride + dk, dk, 1e-6f, 1.0f);
  }
  std::vector<float> g(T), beta(T);
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(0, 1);
  for (int t = 0; t < T; ++t) {
    g[t] = t % 7 == 3 ? -30.0f : -2.0f * u(rng);  // include near-total forgetting
    beta[t] = u(rng);
  }
  const auto S0 = randn(dk * dv, 11);
  std::vector<double> S(S0.begin(), S0.end());
  std::vector<double> o_ref(T * dv);
  for (int t = 0; t < T; ++t) {
    const float* r = rows.data() + t * stride;
    delta_rule_direct(S, r, r + dk, r + 2 * dk, g[t], beta[t], dk, dv, o_ref.data() + t * dv);
  }

  std::vector<float> S_step = S0, o_step(T * dv);
  for (int t = 0; t < T; ++t) {
    const float* r = rows.data() + t * stride;
    gated_delta_rule_step(S_step.data(), r, r + dk, r + 2 * dk, g[t], beta[t], dk, dv,
                          o_step.data() + t * dv);
  }
  // The whole run in one call, outputs 16 apart.
  std::vector<float> S_run = S0, o_run(T * 16, -1.0f);
  gated_delta_rule_steps(S_run.data(), rows.data(), rows.data() + dk, rows.data() + 2 * dk,
                         stride, g.data(), beta.data(), T, dk, dv, o_run.data(), 16);
  for (int t = 0; t < T; ++t)
    for (int j = 0; j < dv; ++j) {
      EXPECT_NEAR(o_step[t * dv + j], o_ref[t * dv + j], 1e-4) << t << "," << j;
      EXPECT_NEAR(o_run[t * 16 + j], o_ref[t * dv + j], 1e-4) << t << "," << j;
    }
  for (int i = 0; i < dk * dv; ++i) {
    EXPECT_NEAR(S_step[i], S[i], 1e-4);
    EXPECT_NEAR(S_run[i], S[i], 1e-4);
  }
}

INSTANTIATE_TEST_SUITE_P(Lengths, DeltaRule, ::testing::Values(1, 2, 5, 17, 64));

}  // namespace
}  // namespace tf
