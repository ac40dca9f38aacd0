// Per-role parameter / byte accounting and MLX bits per weight (spec §2.7, §5.7).
#include <cmath>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "quant/model_summary.h"
#include "storage/safetensors.h"

namespace tf {
namespace {

// An MLX affine-quantized module: weight U32 [..., N, K·b/32], scales/biases BF16 [..., N, K/g].
void add_quantized(std::vector<TensorSpec>& out, const std::string& module, std::vector<int64_t> lead,
                   int64_t n, int64_t k, int bits, int group) {
  auto dims = [&](int64_t last) {
    auto d = lead;
    d.push_back(n);
    d.push_back(last);
    return d;
  };
  out.push_back({module + ".weight", DType::U32, dims(k * bits / 32)});
  out.push_back({module + ".scales", DType::BF16, dims(k / group)});
  out.push_back({module + ".biases", DType::BF16, dims(k / group)});
}

TEST(ModelSummary, TinyFixtureHandCount) {
  auto ck = Checkpoint::open(std::string(TIGHTFIT_TEST_DATA) + "/tiny-qwen35moe-a");
  const ModelSummary s = summarize_model(ck->specs());
  // Dims: hidden 64, vocab 512, 4 layers (3 GDN + 1 attention), 8 experts × 32, shared 32.
  EXPECT_EQ(s.role(TensorRole::Embed).params, 512 * 64);
  EXPECT_EQ(s.role(TensorRole::LmHead).params, 512 * 64);
  EXPECT_EQ(s.role(TensorRole::RoutedExperts).params, 4 * (8 * 64 * 64 + 8 * 64 * 32));
  EXPECT_EQ(s.role(TensorRole::Router).params, 4 * 8 * 64);
  EXPECT_EQ(s.role(TensorRole::SharedExpert).params, 4 * 3 * 32 * 64);
  EXPECT_EQ(s.role(TensorRole::SharedExpertGate).params, 4 * 64);
  // input/post norms, final norm, q/k norm, GDN gated norms
  EXPECT_EQ(s.role(TensorRole::Norm).params, 4 * 2 * 64 + 64 + 2 * 32 + 3 * 16);
  // conv1d [128,1,4], dt_bias [4], A_log [4] per GDN layer
  EXPECT_EQ(s.role(TensorRole::DeltaNetParams).params, 3 * (128 * 4 + 4 + 4));
  EXPECT_EQ(s.role(TensorRole::LinearAttention).params, 3 * (128 * 64 + 64 * 64 + 2 * 4 * 64 + 64 * 64));
  EXPECT_EQ(s.role(TensorRole::FullAttention).params, 256 * 64 + 2 * 64 * 64 + 64 * 128);
  EXPECT_EQ(s.role(TensorRole::Other).tensors, 0);
  EXPECT_EQ(s.total.params, 374728);
  EXPECT_EQ(s.total.bytes, 749456u);  // all BF16
  EXPECT_EQ(s.total.tensors, 72);
  EXPECT_EQ(s.total.formats.at("BF16"), 374728);
  EXPECT_TRUE(s.quantized.empty());
  EXPECT_TRUE(s.warnings.empty());
  // MLX counts leaf modules only: dt_bias and A_log (3 layers × 8 values) sit directly on the
  // GDN block, which has sub-modules, so they add bytes but no parameters.
  EXPECT_EQ(s.mlx_bytes, 749456u);
  EXPECT_EQ(s.mlx_params, 374728 - 24);
  EXPECT_DOUBLE_EQ(s.bits_per_weight(), 8.0 * 749456 / 374704);
}

// A small MLX layout worked out by hand.
std::vector<TensorSpec> small_mlx_layout() {
  std::vector<TensorSpec> t;
  const std::string L = "language_model.model.layers.0.";
  add_quantized(t, "language_model.model.embed_tokens", {}, 512, 64, 4, 64);    // 16384 + 2·1024 B
  add_quantized(t, "language_model.lm_head", {}, 512, 64, 8, 32);               // 32768 + 2·2048 B
  add_quantized(t, L + "mlp.switch_mlp.up_proj", {8}, 32, 64, 2, 64);           // 4096 + 2·512 B
  t.push_back({L + "linear_attn.dt_bias", DType::F32, {4}});                    // 16 B
  t.push_back({L + "linear_attn.A_log", DType::F32, {4}});                      // 16 B
  t.push_back({L + "linear_attn.in_proj_qkv.weight", DType::BF16, {128, 64}});  // 16384 B
  t.push_back({L + "linear_attn.conv1d.weight", DType::BF16, {128, 4, 1}});      // 1024 B
  t.push_back({L + "input_layernorm.weight", DType::BF16, {64}});                // 128 B
  t.push_back({"vision_tower.blocks.0.attn.qkv.weight", DType::BF16, {96, 32}});  // 6144 B
  t.push_back({"vision_tower.blocks.0.attn.qkv.bias", DType::BF16, {96}});        // 192 B
  t.push_back({"mtp.fc.weight", DType::BF16, {64, 128}});                         // 16384 B, not loaded by MLX
  return t;
}

QuantizationConfig small_config() {
  QuantizationConfig q;
  q.defaults = {4, 64, "affine"};
  q.overrides["language_model.lm_head"] = QuantSpec{8, 32, "affine"};
  q.overrides["language_model.model.layers.0.mlp.switch_mlp.up_proj"] = QuantSpec{2, 64, "affine"};
  return q;
}

TEST(ModelSummary, SmallQuantizedLayoutByHand) {
  const QuantizationConfig q = small_config();
  const ModelSummary s = summarize_model(small_mlx_layout(), &q);
  EXPECT_TRUE(s.warnings.empty()) << s.warnings.front();
  ASSERT_EQ(s.quantized.size(), 3u);
  for (const auto& m : s.quantized) EXPECT_TRUE(m.from_config) << m.module;

  EXPECT_EQ(s.role(TensorRole::Embed).params, 512 * 64);
  EXPECT_EQ(s.role(TensorRole::Embed).bytes, 16384u + 2048u);
  EXPECT_EQ(s.role(TensorRole::Embed).formats.at("4-bit g64"), 512 * 64);
  EXPECT_EQ(s.role(TensorRole::LmHead).params, 512 * 64);
  EXPECT_EQ(s.role(TensorRole::LmHead).bytes, 32768u + 4096u);
  EXPECT_EQ(s.role(TensorRole::LmHead).formats.at("8-bit g32"), 512 * 64);
  EXPECT_EQ(s.role(TensorRole::RoutedExperts).params, 8 * 32 * 64);
  EXPECT_EQ(s.role(TensorRole::RoutedExperts).bytes, 4096u + 1024u);
  EXPECT_DOUBLE_EQ(s.role(TensorRole::RoutedExperts).bits_per_param(), 2.5);
  EXPECT_EQ(s.role(TensorRole::DeltaNetParams).params, 4 + 4 + 512);
  EXPECT_EQ(s.role(TensorRole::DeltaNetParams).formats.at("F32"), 8);
  EXPECT_EQ(s.role(TensorRole::Vision).params, 96 * 32 + 96);
  EXPECT_EQ(s.role(TensorRole::Mtp).params, 64 * 128);

  const uint64_t mlx_bytes = 18432 + 36864 + 5120 + 16 + 16 + 16384 + 1024 + 128 + 6144 + 192;
  const int64_t mlx_params = 32768 + 32768 + 16384 + 8192 + 512 + 64 + 3072 + 96;  // no dt_bias/A_log
  EXPECT_EQ(s.mlx_bytes, mlx_bytes);
  EXPECT_EQ(s.mlx_params, mlx_params);
  EXPECT_DOUBLE_EQ(s.bits_per_weight(), 8.0 * 84320 / 93856);
  EXPECT_EQ(s.total.bytes, mlx_bytes + 16384);
  EXPECT_EQ(s.total.params, mlx_params + 8 + 8192);
}

TEST(ModelSummary, ShapesAloneAreAmbiguous) {
  // Without a config, 8-bit g32 (b·g = 256) is indistinguishable from 4-bit g64: assumed g64,
  // with a warning.
  const ModelSummary s = summarize_model(small_mlx_layout());
  EXPECT_EQ(s.role(TensorRole::LmHead).formats.count("4-bit g64"), 1u);
  EXPECT_EQ(s.role(TensorRole::LmHead).params, 512 * 16 * 32 / 4);
  ASSERT_FALSE(s.warnings.empty());
  EXPECT_NE(s.warnings.front().find("8-bit g32"), std::string::npos) << s.warnings.front();
  // A config that contradicts the shapes is reported, not silently believed.
  QuantizationConfig q = small_config();
  q.overrides["language_model.lm_head"] = QuantSpec{3, 64, "affine"};
  q.overrides["language_model.model.embed_tokens"] = std::nullopt;
  const ModelSummary w = summarize_model(small_mlx_layout(), &q);
  bool saw_mismatch = false, saw_false = false;
  for (const auto& m : w.warnings) {
    saw_mismatch |= m.find("config says 3-bit g64 for \"language_model.lm_head\"") != std::string::npos;
    saw_false |= m.find("keeps \"language_model.model.embed_tokens\" dense") != std::string::npos;
  }
  EXPECT_TRUE(saw_mismatch);
  EXPECT_TRUE(saw_false);
}

void expect_summary_error(const std::vector<TensorSpec>& t, const std::string& needle) {
  try {
    summarize_model(t);
    FAIL() << "no error; wanted " << needle;
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(ModelSummary, MalformedQuantizedModules) {
  const std::string m = "language_model.model.layers.0.mlp.gate";
  expect_summary_error({{m + ".scales", DType::BF16, {8, 1}}, {m + ".biases", DType::BF16, {8, 1}}},
                       "\"" + m + "\": has scales but no weight");
  expect_summary_error({{m + ".weight", DType::U32, {8, 8}}, {m + ".scales", DType::U8, {8, 2}}},
                       "no biases");  // mxfp4-style
  expect_summary_error({{m + ".weight", DType::BF16, {8, 64}}, {m + ".scales", DType::BF16, {8, 1}},
                        {m + ".biases", DType::BF16, {8, 1}}},
                       "expected U32");
  expect_summary_error({{m + ".weight", DType::U32, {8, 8}}, {m + ".scales", DType::BF16, {4, 1}},
                        {m + ".biases", DType::BF16, {4, 1}}},
                       "do not fit together");
  expect_summary_error({{m + ".weight", DType::U32, {8, 7}}, {m + ".scales", DType::BF16, {8, 1}},
                        {m + ".biases", DType::BF16, {8, 1}}},
                       "fit no MLX bits");
  expect_summary_error({{"a", DType::U8, {1}}, {"a", DType::U8, {1}}}, "listed twice");
}

// Qwen3.5-35B-A3B in MLX layout (spec §2.2–§2.7) with the `dynamic` recipe of issue 6: router,
// shared-expert gate, norms, conv1d / dt_bias / A_log (F32) and vision kept; embed, lm_head,
// attention, GDN projections and shared expert 3-bit; routed experts 2-bit; group 64.
std::vector<TensorSpec> qwen35_35b_dynamic(bool with_vision) {
  std::vector<TensorSpec> t;
  const int64_t H = 2048, V = 248320;
  add_quantized(t, "language_model.model.embed_tokens", {}, V, H, 3, 64);
  add_quantized(t, "language_model.lm_head", {}, V, H, 3, 64);
  t.push_back({"language_model.model.norm.weight", DType::BF16, {H}});
  for (int i = 0; i < 40; ++i) {
    const std::string L = "language_model.model.layers." + std::to_string(i) + ".";
    t.push_back({L + "input_layernorm.weight", DType::BF16, {H}});
    t.push_back({L + "post_attention_layernorm.weight", DType::BF16, {H}});
    if ((i + 1) % 4 == 0) {
      add_quantized(t, L + "self_attn.q_proj", {}, 8192, H, 3, 64);
      add_quantized(t, L + "self_attn.k_proj", {}, 512, H, 3, 64);
      add_quantized(t, L + "self_attn.v_proj", {}, 512, H, 3, 64);
      add_quantized(t, L + "self_attn.o_proj", {}, H, 4096, 3, 64);
      t.push_back({L + "self_attn.q_norm.weight", DType::BF16, {256}});
      t.push_back({L + "self_attn.k_norm.weight", DType::BF16, {256}});
    } else {
      add_quantized(t, L + "linear_attn.in_proj_qkv", {}, 8192, H, 3, 64);
      add_quantized(t, L + "linear_attn.in_proj_z", {}, 4096, H, 3, 64);
      add_quantized(t, L + "linear_attn.in_proj_b", {}, 32, H, 3, 64);
      add_quantized(t, L + "linear_attn.in_proj_a", {}, 32, H, 3, 64);
      add_quantized(t, L + "linear_attn.out_proj", {}, H, 4096, 3, 64);
      t.push_back({L + "linear_attn.conv1d.weight", DType::BF16, {8192, 4, 1}});
      t.push_back({L + "linear_attn.dt_bias", DType::BF16, {32}});
      t.push_back({L + "linear_attn.A_log", DType::F32, {32}});
      t.push_back({L + "linear_attn.norm.weight", DType::BF16, {128}});
    }
    t.push_back({L + "mlp.gate.weight", DType::BF16, {256, H}});
    add_quantized(t, L + "mlp.switch_mlp.gate_proj", {256}, 512, H, 2, 64);
    add_quantized(t, L + "mlp.switch_mlp.up_proj", {256}, 512, H, 2, 64);
    add_quantized(t, L + "mlp.switch_mlp.down_proj", {256}, H, 512, 2, 64);
    add_quantized(t, L + "mlp.shared_expert.gate_proj", {}, 512, H, 3, 64);
    add_quantized(t, L + "mlp.shared_expert.up_proj", {}, 512, H, 3, 64);
    add_quantized(t, L + "mlp.shared_expert.down_proj", {}, H, 512, 3, 64);
    t.push_back({L + "mlp.shared_expert_gate.weight", DType::BF16, {1, H}});
  }
  if (with_vision) {  // spec §2.6, MLX shapes, all BF16
    const std::string v = "vision_tower.";
    t.push_back({v + "patch_embed.proj.weight", DType::BF16, {1152, 2, 16, 16, 3}});
    t.push_back({v + "patch_embed.proj.bias", DType::BF16, {1152}});
    t.push_back({v + "pos_embed.weight", DType::BF16, {2304, 1152}});
    for (int j = 0; j < 27; ++j) {
      const std::string b = v + "blocks." + std::to_string(j) + ".";
      for (const char* n : {"norm1", "norm2"}) {
        t.push_back({b + n + ".weight", DType::BF16, {1152}});
        t.push_back({b + n + ".bias", DType::BF16, {1152}});
      }
      const std::pair<const char*, std::pair<int64_t, int64_t>> lin[] = {
          {"attn.qkv", {3456, 1152}}, {"attn.proj", {1152, 1152}},
          {"mlp.linear_fc1", {4304, 1152}}, {"mlp.linear_fc2", {1152, 4304}}};
      for (const auto& [n, d] : lin) {
        t.push_back({b + n + ".weight", DType::BF16, {d.first, d.second}});
        t.push_back({b + n + ".bias", DType::BF16, {d.first}});
      }
    }
    t.push_back({v + "merger.norm.weight", DType::BF16, {1152}});
    t.push_back({v + "merger.norm.bias", DType::BF16, {1152}});
    t.push_back({v + "merger.linear_fc1.weight", DType::BF16, {4608, 4608}});
    t.push_back({v + "merger.linear_fc1.bias", DType::BF16, {4608}});
    t.push_back({v + "merger.linear_fc2.weight", DType::BF16, {2048, 4608}});
    t.push_back({v + "merger.linear_fc2.bias", DType::BF16, {2048}});
  }
  return t;
}

TEST(ModelSummary, Qwen35DynamicRecipeMatchesPublishedBpw) {
  QuantizationConfig q;
  q.defaults = {3, 64, "affine"};
  for (int i = 0; i < 40; ++i)
    for (const char* m : {"mlp.switch_mlp.gate_proj", "mlp.switch_mlp.up_proj", "mlp.switch_mlp.down_proj"})
      q.overrides["language_model.model.layers." + std::to_string(i) + "." + m] = QuantSpec{2, 64, "affine"};
  const ModelSummary text = summarize_model(qwen35_35b_dynamic(false), &q);
  EXPECT_TRUE(text.warnings.empty());
  // Published figures for the original recipe (issue 6): 2.579 text-only, 2.749 with vision.
  EXPECT_NEAR(text.bits_per_weight(), 2.579, 0.0005);
  const ModelSummary all = summarize_model(qwen35_35b_dynamic(true), &q);
  EXPECT_NEAR(all.bits_per_weight(), 2.749, 0.0005);
  EXPECT_EQ(all.role(TensorRole::Vision).tensors, 333);
  // Quantized modules: embed, lm_head, 10 × (4 attention + 6 MoE), 30 × (5 GDN + 6 MoE).
  EXPECT_EQ(text.quantized.size(), 2u + 10 * 10 + 30 * 11);
  // Dense: final norm, 40 × (2 norms, router, shared gate), 10 × q/k norm, 30 × 4 GDN tensors.
  EXPECT_EQ(text.total.tensors, 3 * 432 + 1 + 40 * 4 + 10 * 2 + 30 * 4);
  // Spec §2.6 parameter split: ≈32.2 B routed experts, ≈0.45 B vision.
  EXPECT_NEAR(all.role(TensorRole::RoutedExperts).params / 1e9, 32.2, 0.05);
  EXPECT_NEAR(all.role(TensorRole::Vision).params / 1e9, 0.45, 0.01);
  EXPECT_DOUBLE_EQ(all.role(TensorRole::RoutedExperts).bits_per_param(), 2.5);
  EXPECT_DOUBLE_EQ(all.role(TensorRole::FullAttention).bits_per_param(), 3.5);
}

}  // namespace
}  // namespace tf
