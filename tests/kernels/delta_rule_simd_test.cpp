// The SIMD gated delta rule (ops_delta_rule_simd.cpp) against the scalar reference, at head
// sizes that are multiples of every vector length (the model's 128 × 128 among them), chunk
// lengths around the vector width, near-total forgetting (g = −30) and a non-zero incoming state.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <tuple>
#include <vector>

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

TEST_P(DeltaRuleSimd, ChunkAndStepMatchTheReference) {
  const auto [T, dk, dv] = GetParam();
  for_each_target([&, T = T, dk = dk, dv = dv] {
  const Inputs in = make(T, dk, dv, 5 + T);
  const float* q = in.rows.data();
  const float* k = q + dk;
  const float* v = q + 2 * dk;
  std::vector<float> work(gated_delta_rule_chunk_workspace(T, dk, dv) + 64);

  std::vector<float> S_ref = in.S0, o_ref(static_cast<size_t>(T) * dv);
  reference::gated_delta_rule_chunk(S_ref.data(), q, k, v, in.stride, in.g.data(), in.beta.data(),
                                    T, dk, dv, o_ref.data(), dv, work.data());
  std::vector<float> S = in.S0, o(static_cast<size_t>(T) * dv);
  gated_delta_rule_chunk(S.data(), q, k, v, in.stride, in.g.data(), in.beta.data(), T, dk, dv,
                         o.data(), dv, work.data());
  EXPECT_LT(max_abs_diff(o, o_ref), 2e-5);
  EXPECT_LT(max_abs_diff(S, S_ref), 2e-5);

  // Token by token: the SIMD step against the reference step.
  std::vector<float> S_step = in.S0, S_step_ref = in.S0, o1(dv), o1_ref(dv);
  for (int t = 0; t < T; ++t) {
    const int64_t off = static_cast<int64_t>(t) * in.stride;
    gated_delta_rule_step(S_step.data(), q + off, k + off, v + off, in.g[t], in.beta[t], dk, dv,
                          o1.data());
    reference::gated_delta_rule_step(S_step_ref.data(), S_step_ref.data(), q + off, k + off,
                                     v + off, in.g[t], in.beta[t], dk, dv, o1_ref.data());
    ASSERT_LT(max_abs_diff(o1, o1_ref), 2e-5) << "token " << t;
    // And the chunk's outputs are the recurrence's.
    for (int j = 0; j < dv; ++j) ASSERT_NEAR(o[t * dv + j], o1_ref[j], 1e-4) << t << "," << j;
  }
  EXPECT_LT(max_abs_diff(S_step, S_step_ref), 2e-5);
  EXPECT_LT(max_abs_diff(S, S_step_ref), 1e-4);

  // Out of place (the verify pass keeping every state): each token from the previous buffer
  // into its own computes exactly the in-place steps, and leaves the source untouched.
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

INSTANTIATE_TEST_SUITE_P(Shapes, DeltaRuleSimd,
                         ::testing::Values(std::make_tuple(1, 128, 128), std::make_tuple(3, 128, 128),
                                           std::make_tuple(17, 128, 128), std::make_tuple(64, 128, 128),
                                           std::make_tuple(33, 64, 32), std::make_tuple(20, 32, 48),
                                           std::make_tuple(64, 16, 16)));

}  // namespace
}  // namespace tf
