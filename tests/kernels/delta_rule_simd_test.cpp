// The SIMD gated delta rule (ops_delta_rule_simd.cpp) against the scalar reference, at head
// sizes that are multiples of every vector length (the model's 128 × 128 among them), runs of
// tokens around the vector width, runs out of place (the last state streamed into an aligned
// buffer, or copied and run in place), near-total forgetting (g = −30) and a non-zero incoming
// state.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <tuple>
#include <vector>

#include "base/cache_line_allocator.h"
#include "kernels/ops.h"
#include "kernels/ops_delta_rule.h"
#include "kernels/simd_targets.h"

namespace tf {
namespace {

struct Inputs {
  std::vector<float> rows, g, beta, S0;
  int stride;
};

Inputs make(int T, int dk, int dv, uint32_t seed) {
  Inputs in;
  in.stride = 2 * dk + dv + 16;  // q | k | v | padding, like rows of the conv output
  std::mt19937 rng(seed);
  std::normal_distribution<float> n(0.0f, 0.5f);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  in.rows.resize(static_cast<size_t>(T) * in.stride);
  for (auto& x : in.rows) x = n(rng);
  for (int t = 0; t < T; ++t) {
    float* r = in.rows.data() + t * in.stride;
    l2_normalize(r, dk, 1e-6f, 1.0f / std::sqrt(static_cast<float>(dk)));
    l2_normalize(r + dk, dk, 1e-6f, 1.0f);
  }
  for (int t = 0; t < T; ++t) {
    in.g.push_back(t % 7 == 3 ? -30.0f : -2.0f * u(rng));
    in.beta.push_back(u(rng));
  }
  in.S0.resize(static_cast<size_t>(dk) * dv);
  for (auto& x : in.S0) x = n(rng);
  return in;
}

double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(double(a[i]) - b[i]));
  return m;
}

using test::for_each_target;

class DeltaRuleSimd : public ::testing::TestWithParam<std::tuple<int, int, int>> {};

TEST_P(DeltaRuleSimd, StepMatchesTheReference) {
  const auto [T, dk, dv] = GetParam();
  for_each_target([&, T = T, dk = dk, dv = dv] {
  const Inputs in = make(T, dk, dv, 5 + T);
  const float* q = in.rows.data();
  const float* k = q + dk;
  const float* v = q + 2 * dk;

  // Token by token: the SIMD step against the reference step.
  std::vector<float> S_step = in.S0, S_step_ref = in.S0, o1(dv), o1_ref(dv);
  for (int t = 0; t < T; ++t) {
    const int64_t off = static_cast<int64_t>(t) * in.stride;
    gated_delta_rule_step(S_step.data(), q + off, k + off, v + off, in.g[t], in.beta[t], dk, dv,
                          o1.data());
    reference::gated_delta_rule_step(S_step_ref.data(), S_step_ref.data(), q + off, k + off,
                                     v + off, in.g[t], in.beta[t], dk, dv, o1_ref.data());
    ASSERT_LT(max_abs_diff(o1, o1_ref), 2e-5) << "token " << t;
  }
  EXPECT_LT(max_abs_diff(S_step, S_step_ref), 2e-5);

  // Out of place one token at a time: each token from the previous buffer into its own
  // computes exactly the in-place steps, and leaves the source untouched.
  std::vector<std::vector<float>> states(T + 1, std::vector<float>(in.S0.size(), -7.0f));
  states[0] = in.S0;
  std::vector<float> S_inplace = in.S0, o_inplace(dv), o_out(dv);
  for (int t = 0; t < T; ++t) {
    const int64_t off = static_cast<int64_t>(t) * in.stride;
    const std::vector<float> before = states[t];
    gated_delta_rule_step(states[t].data(), states[t + 1].data(), q + off, k + off, v + off,
                          in.g[t], in.beta[t], dk, dv, o_out.data());
    gated_delta_rule_step(S_inplace.data(), q + off, k + off, v + off, in.g[t], in.beta[t], dk,
                          dv, o_inplace.data());
    ASSERT_EQ(states[t], before) << "token " << t;
    ASSERT_EQ(states[t + 1], S_inplace) << "token " << t;
    ASSERT_EQ(o_out, o_inplace) << "token " << t;
  }
  });
}

// A run of tokens in one call (each sweep also sums the next token's Sᵀk) is bit for bit the
// run of single steps, in place and keeping every state; and within rounding of the reference.
TEST_P(DeltaRuleSimd, StepsOfARunAreTheSingleSteps) {
  const auto [T, dk, dv] = GetParam();
  for_each_target([&, T = T, dk = dk, dv = dv] {
  const Inputs in = make(T, dk, dv, 11 + T);
  const float* q = in.rows.data();
  const float* k = q + dk;
  const float* v = q + 2 * dk;
  const size_t out_stride = static_cast<size_t>(dv) + 8;

  std::vector<float> S_one = in.S0, o_one(T * out_stride, 0.0f);
  std::vector<std::vector<float>> states_one;
  std::vector<float> S_ref = in.S0, o_ref(dv);
  for (int t = 0; t < T; ++t) {
    const int64_t off = static_cast<int64_t>(t) * in.stride;
    gated_delta_rule_step(S_one.data(), q + off, k + off, v + off, in.g[t], in.beta[t], dk, dv,
                          o_one.data() + t * out_stride);
    states_one.push_back(S_one);
    reference::gated_delta_rule_step(S_ref.data(), S_ref.data(), q + off, k + off, v + off,
                                     in.g[t], in.beta[t], dk, dv, o_ref.data());
    for (int j = 0; j < dv; ++j)
      ASSERT_NEAR(o_one[t * out_stride + j], o_ref[j], 2e-5) << "token " << t;
  }

  std::vector<float> S_run = in.S0, o_run(T * out_stride, 0.0f);
  gated_delta_rule_steps(S_run.data(), q, k, v, in.stride, in.g.data(), in.beta.data(), T, dk, dv,
                         o_run.data(), out_stride);
  EXPECT_EQ(S_run, S_one);
  EXPECT_EQ(o_run, o_one);

  // Out of place, the state after the last token only (a verify batch): into a cache-line-
  // aligned buffer (the model's: the states between tokens in scratch, the last streamed) and
  // one float off that alignment (copied, then in place) — for every prefix of the run, the
  // in-place states and outputs, and `from` untouched.
  for (const size_t offset : {size_t{0}, size_t{1}}) {
    for (int count = 1; count <= T; ++count) {
      std::vector<float, CacheLineAllocator<float>> last(in.S0.size() + offset, -7.0f);
      std::vector<float> o_last(count * out_stride, 0.0f);
      const std::vector<float> from = in.S0;
      gated_delta_rule_steps(from.data(), last.data() + offset, q, k, v, in.stride, in.g.data(),
                             in.beta.data(), count, dk, dv, o_last.data(), out_stride);
      ASSERT_TRUE(std::equal(states_one[count - 1].begin(), states_one[count - 1].end(),
                             last.begin() + offset))
          << count << " tokens, offset " << offset;
      ASSERT_TRUE(std::equal(o_last.begin(), o_last.end(), o_one.begin()))
          << count << " tokens, offset " << offset;
      ASSERT_EQ(from, in.S0);
      if (count > 4 && count < T - 4) count = T - 4;  // long runs: the ends only
    }
  }
  });
}

INSTANTIATE_TEST_SUITE_P(Shapes, DeltaRuleSimd,
                         ::testing::Values(std::make_tuple(1, 128, 128), std::make_tuple(3, 128, 128),
                                           std::make_tuple(17, 128, 128), std::make_tuple(64, 128, 128),
                                           std::make_tuple(33, 64, 32), std::make_tuple(20, 32, 48),
                                           std::make_tuple(64, 16, 16),
                                           // dk above the streaming form's scratch rows
                                           std::make_tuple(3, 256, 32)));

}  // namespace
}  // namespace tf
