// The sensitivity meter against a direct computation, and its aggregation.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include <nlohmann/json.hpp>

#include "quant/mlx_affine.h"
#include "quant/sensitivity.h"

namespace tf {
namespace {

WeightMatrix dense(const std::vector<float>& w, int64_t rows, int64_t cols) {
  WeightMatrix m;
  m.format = WeightMatrix::Format::Dense;
  m.dtype = DType::F32;
  m.rows = rows;
  m.cols = cols;
  m.data = reinterpret_cast<const uint8_t*>(w.data());
  return m;
}

std::vector<float> randn(size_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 g(seed);
  std::normal_distribution<float> d(0.0f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = d(g);
  return v;
}

// ‖(W − Q(W)) X‖ / ‖W X‖ computed naively.
double direct(const std::vector<float>& w, int64_t N, int64_t K, const std::vector<float>& x, int64_t T,
              int bits, int group) {
  const AffineTensors q = affine_quantize(w.data(), N, K, {bits, group, DType::BF16, AffineRounding::HalfEven});
  std::vector<float> wq(N * K);
  affine_dequantize_rows(q.weight.data(), q.scales.data(), q.biases.data(), N, K, bits, group, DType::BF16, wq.data());
  double e2 = 0, s2 = 0;
  for (int64_t t = 0; t < T; ++t)
    for (int64_t n = 0; n < N; ++n) {
      double y = 0, e = 0;
      for (int64_t k = 0; k < K; ++k) {
        y += double(w[n * K + k]) * x[t * K + k];
        e += double(w[n * K + k] - wq[n * K + k]) * x[t * K + k];
      }
      s2 += y * y;
      e2 += e * e;
    }
  return std::sqrt(e2 / s2);
}

TEST(Sensitivity, MatchesADirectComputationAndPoolsExperts) {
  ThreadPool pool(2);
  const int64_t N = 96, K = 128, T = 7;
  const auto w = randn(N * K, 1, 0.05f), x = randn(T * K, 2);
  for (int bits : {2, 4}) {
    SensitivityMeter meter(bits, 64, pool);
    meter.observe("language_model.model.layers.2.self_attn.q_proj", 2, dense(w, N, K), x.data(), T);
    const auto r = meter.report(4);
    ASSERT_EQ(r.modules.size(), 1u);
    EXPECT_NEAR(r.modules[0].relative_error(), direct(w, N, K, x, T, bits, 64), 1e-4);
    EXPECT_EQ(r.modules[0].group, "attention_q");
    EXPECT_EQ(r.modules[0].rows, T);
  }
  // Two "experts" of one stack pool into one entry: sums of squares add.
  SensitivityMeter meter(2, 64, pool);
  const auto w2 = randn(N * K, 3, 0.05f), x2 = randn(3 * K, 4);
  const std::string m = "language_model.model.layers.0.mlp.switch_mlp.down_proj";
  meter.observe(m, 0, dense(w, N, K), x.data(), T);
  meter.observe(m, 0, dense(w2, N, K), x2.data(), 3);
  const auto r = meter.report(4);
  ASSERT_EQ(r.modules.size(), 1u);
  EXPECT_EQ(r.modules[0].rows, T + 3);
  EXPECT_EQ(r.modules[0].group, "expert_down");
  const double a = direct(w, N, K, x, T, 2, 64), b = direct(w2, N, K, x2, 3, 2, 64);
  EXPECT_GT(r.modules[0].relative_error(), std::min(a, b) - 1e-6);
  EXPECT_LT(r.modules[0].relative_error(), std::max(a, b) + 1e-6);
}

TEST(Sensitivity, NonDivisibleModulesAreReportedNotMeasured) {
  ThreadPool pool(1);
  const auto w = randn(8 * 32, 5), x = randn(2 * 32, 6);
  SensitivityMeter meter(2, 64, pool);
  meter.observe("language_model.model.layers.1.mlp.switch_mlp.down_proj", 1, dense(w, 8, 32), x.data(), 2);
  const auto r = meter.report(4);
  EXPECT_FALSE(r.modules[0].quantizable);
  EXPECT_TRUE(r.groups.empty());
  EXPECT_NE(r.format_table().find("not measured"), std::string::npos);
}

TEST(Sensitivity, GroupsLayersAndEdgeVersusMiddle) {
  ThreadPool pool(2);
  SensitivityMeter meter(2, 64, pool);
  const int64_t K = 64, T = 5;
  const auto x = randn(T * K, 9);
  // Layer 0 and 3 (edges of 4 layers) get weights with an outlier per group (hard to quantize),
  // layers 1–2 plain Gaussian weights: the edge/middle ratio must come out above 1.
  for (int layer = 0; layer < 4; ++layer) {
    auto w = randn(16 * K, 10 + layer, 0.05f);
    if (layer == 0 || layer == 3)
      for (int64_t r = 0; r < 16; ++r) w[r * K] = 0.5f;
    meter.observe("language_model.model.layers." + std::to_string(layer) + ".linear_attn.in_proj_z", layer,
                  dense(w, 16, K), x.data(), T);
  }
  const auto lm = randn(32 * K, 20, 0.05f);
  meter.observe("language_model.lm_head", -1, dense(lm, 32, K), x.data(), T);
  meter.add_tokens(T);
  const auto r = meter.report(4);
  EXPECT_EQ(r.edge_layers, 1);
  ASSERT_EQ(r.groups.size(), 2u);
  EXPECT_EQ(r.groups[0].group, "deltanet_in_proj");
  EXPECT_EQ(r.groups[0].modules, 4);
  EXPECT_GT(r.groups[0].edge_vs_middle, 1.5);
  EXPECT_NEAR(r.edge_vs_middle, r.groups[0].edge_vs_middle, 1e-12);  // lm_head has no layer
  EXPECT_EQ(r.groups[1].group, "lm_head");
  ASSERT_EQ(r.layer_mean.size(), 4u);
  EXPECT_GT(r.layer_mean[0], r.layer_mean[1]);
  const auto j = r.to_json();
  EXPECT_EQ(j["modules"].size(), 5u);
  EXPECT_EQ(j["tokens"], T);
  const std::string csv = r.to_csv();
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 6);
  EXPECT_EQ(csv.rfind("module,group,layer,relative_error", 0), 0u);
}

TEST(Sensitivity, GroupNames) {
  const std::pair<const char*, const char*> cases[] = {
      {"language_model.model.layers.0.mlp.gate", "router"},
      {"language_model.model.layers.0.mlp.shared_expert_gate", "shared_expert_gate"},
      {"language_model.model.layers.0.linear_attn.in_proj_qkv", "deltanet_in_proj"},
      {"language_model.model.layers.0.linear_attn.out_proj", "deltanet_out_proj"},
      {"language_model.model.layers.3.self_attn.v_proj", "attention_v"},
      {"language_model.model.layers.3.self_attn.o_proj", "attention_o"},
      {"language_model.model.layers.3.mlp.switch_mlp.up_proj", "expert_gate_up"},
      {"language_model.model.layers.3.mlp.switch_mlp.down_proj", "expert_down"},
      {"language_model.model.layers.3.mlp.shared_expert.gate_proj", "shared_expert_gate_up"},
      {"language_model.model.layers.3.mlp.shared_expert.down_proj", "shared_expert_down"},
      {"language_model.model.layers.3.mlp.down_proj", "mlp_down"},
      {"language_model.lm_head", "lm_head"},
  };
  for (const auto& [m, g] : cases) EXPECT_EQ(sensitivity_group(m), g) << m;
}

}  // namespace
}  // namespace tf
