// Roles of every tensor in HF, mlx-vlm / mlx-lm and plain naming (spec §2).
#include <map>
#include <string>

#include <gtest/gtest.h>

#include "quant/tensor_roles.h"
#include "storage/safetensors.h"
#include "storage/tensor_names.h"

namespace tf {
namespace {

// The role of a text tensor from what follows `layers.{i}.` (or the model-level name), as the
// tables of spec §2.2–§2.5 assign them.
const std::map<std::string, TensorRole> kLayerSuffixRoles = {
    {"input_layernorm.weight", TensorRole::Norm},
    {"post_attention_layernorm.weight", TensorRole::Norm},
    {"linear_attn.in_proj_qkv.weight", TensorRole::LinearAttention},
    {"linear_attn.in_proj_z.weight", TensorRole::LinearAttention},
    {"linear_attn.in_proj_b.weight", TensorRole::LinearAttention},
    {"linear_attn.in_proj_a.weight", TensorRole::LinearAttention},
    {"linear_attn.out_proj.weight", TensorRole::LinearAttention},
    {"linear_attn.conv1d.weight", TensorRole::DeltaNetParams},
    {"linear_attn.dt_bias", TensorRole::DeltaNetParams},
    {"linear_attn.A_log", TensorRole::DeltaNetParams},
    {"linear_attn.norm.weight", TensorRole::Norm},
    {"self_attn.q_proj.weight", TensorRole::FullAttention},
    {"self_attn.k_proj.weight", TensorRole::FullAttention},
    {"self_attn.v_proj.weight", TensorRole::FullAttention},
    {"self_attn.o_proj.weight", TensorRole::FullAttention},
    {"self_attn.q_norm.weight", TensorRole::Norm},
    {"self_attn.k_norm.weight", TensorRole::Norm},
    {"mlp.gate.weight", TensorRole::Router},
    {"mlp.experts.gate_up_proj", TensorRole::RoutedExperts},
    {"mlp.experts.down_proj", TensorRole::RoutedExperts},
    {"mlp.switch_mlp.gate_proj.weight", TensorRole::RoutedExperts},
    {"mlp.switch_mlp.up_proj.weight", TensorRole::RoutedExperts},
    {"mlp.switch_mlp.down_proj.weight", TensorRole::RoutedExperts},
    {"mlp.shared_expert.gate_proj.weight", TensorRole::SharedExpert},
    {"mlp.shared_expert.up_proj.weight", TensorRole::SharedExpert},
    {"mlp.shared_expert.down_proj.weight", TensorRole::SharedExpert},
    {"mlp.shared_expert_gate.weight", TensorRole::SharedExpertGate},
};

TensorRole expected_role(const std::string& hf_name) {
  if (hf_name == "lm_head.weight") return TensorRole::LmHead;
  if (hf_name == "model.language_model.embed_tokens.weight") return TensorRole::Embed;
  if (hf_name == "model.language_model.norm.weight") return TensorRole::Norm;
  const std::string prefix = "model.language_model.layers.";
  EXPECT_TRUE(starts_with(hf_name, prefix.c_str())) << hf_name;
  const std::string rest = hf_name.substr(hf_name.find('.', prefix.size()) + 1);
  auto it = kLayerSuffixRoles.find(rest);
  EXPECT_NE(it, kLayerSuffixRoles.end()) << "no expectation for " << hf_name;
  return it == kLayerSuffixRoles.end() ? TensorRole::Other : it->second;
}

// Every tensor of the fixture checkpoint (HF naming), and the same names in MLX spelling.
TEST(TensorRoles, EveryFixtureTensorInBothSchemes) {
  auto ck = Checkpoint::open(std::string(TIGHTFIT_TEST_DATA) + "/tiny-qwen35moe-a");
  ASSERT_EQ(ck->names().size(), 72u);
  for (const auto& name : ck->names()) {
    const TensorRole want = expected_role(name);
    const TensorRoleInfo hf = classify_tensor(name);
    EXPECT_EQ(hf.role, want) << name << " → " << role_name(hf.role);
    EXPECT_EQ(hf.scheme, NamingScheme::HuggingFace) << name;
    const std::string mlx = mlx_name_from_hf(name);
    const TensorRoleInfo m = classify_tensor(mlx);
    EXPECT_EQ(m.role, want) << mlx;
    EXPECT_EQ(m.scheme, NamingScheme::Mlx) << mlx;
    EXPECT_EQ(m.layer, hf.layer) << mlx;
    // Quantized companions share the module's role.
    if (ends_with(mlx, ".weight")) {
      const std::string module = mlx.substr(0, mlx.size() - 7);
      for (const char* p : {".scales", ".biases", ".bias", ""})
        EXPECT_EQ(role_of(module + p), want) << module + p;
    }
    const size_t at = name.find("layers.");
    if (at != std::string::npos) {
      EXPECT_EQ(hf.layer, std::stoi(name.substr(at + 7))) << name;
    } else {
      EXPECT_EQ(hf.layer, -1) << name;
    }
  }
}

TEST(TensorRoles, MlxExpertsVisionMtpAndOthers) {
  struct Case {
    const char* name;
    TensorRole role;
    int layer, block, expert;
  };
  const Case cases[] = {
      {"language_model.model.layers.39.mlp.switch_mlp.down_proj.scales", TensorRole::RoutedExperts, 39, -1, -1},
      {"language_model.model.layers.7.mlp.gate.biases", TensorRole::Router, 7, -1, -1},
      {"language_model.lm_head.scales", TensorRole::LmHead, -1, -1, -1},
      {"language_model.model.embed_tokens.biases", TensorRole::Embed, -1, -1, -1},
      {"language_model.model.norm.weight", TensorRole::Norm, -1, -1, -1},
      // HF per-expert form (spec §2.5) and the MTP layer.
      {"model.language_model.layers.2.mlp.experts.17.up_proj.weight", TensorRole::RoutedExperts, 2, -1, 17},
      {"mtp.layers.0.mlp.experts.3.gate_proj.weight", TensorRole::Mtp, 0, -1, -1},
      {"mtp.fc.weight", TensorRole::Mtp, -1, -1, -1},
      // Vision tower, both spellings and the nested HF form.
      {"model.visual.blocks.26.attn.qkv.weight", TensorRole::Vision, -1, 26, -1},
      {"vision_tower.blocks.3.norm1.bias", TensorRole::Vision, -1, 3, -1},
      {"vision_tower.merger.linear_fc2.weight", TensorRole::Vision, -1, -1, -1},
      {"model.language_model.visual.patch_embed.proj.weight", TensorRole::Vision, -1, -1, -1},
      {"vision_tower.pos_embed.weight", TensorRole::Vision, -1, -1, -1},
      // Dense Qwen3.5 MLP, Qwen3-Next fused projections, plain text-only names.
      {"language_model.model.layers.5.mlp.gate_proj.weight", TensorRole::DenseMlp, 5, -1, -1},
      {"model.layers.1.mlp.down_proj.weight", TensorRole::DenseMlp, 1, -1, -1},
      {"model.layers.0.linear_attn.in_proj_qkvz.weight", TensorRole::LinearAttention, 0, -1, -1},
      {"model.layers.0.linear_attn.in_proj_ba.weight", TensorRole::LinearAttention, 0, -1, -1},
      {"model.embed_tokens.weight", TensorRole::Embed, -1, -1, -1},
      {"lm_head.biases", TensorRole::LmHead, -1, -1, -1},
      // Module paths as quantization configs spell them.
      {"language_model.model.layers.0.mlp.shared_expert_gate", TensorRole::SharedExpertGate, 0, -1, -1},
      {"language_model.model.layers.0.linear_attn.conv1d", TensorRole::DeltaNetParams, 0, -1, -1},
      // Not Qwen3.5 at all.
      {"rotary_emb.inv_freq", TensorRole::Other, -1, -1, -1},
      {"language_model.model.layers.x.mlp.gate.weight", TensorRole::Other, -1, -1, -1},
      {"", TensorRole::Other, -1, -1, -1},
  };
  for (const auto& c : cases) {
    const TensorRoleInfo info = classify_tensor(c.name);
    EXPECT_EQ(info.role, c.role) << c.name << " → " << role_name(info.role);
    EXPECT_EQ(info.layer, c.layer) << c.name;
    EXPECT_EQ(info.block, c.block) << c.name;
    EXPECT_EQ(info.expert, c.expert) << c.name;
  }
  EXPECT_EQ(classify_tensor("model.layers.0.mlp.gate.weight").scheme, NamingScheme::Plain);
  EXPECT_EQ(classify_tensor("vision_tower.blocks.0.attn.proj.weight").scheme, NamingScheme::Mlx);
  EXPECT_EQ(classify_tensor("mtp.norm.weight").scheme, NamingScheme::HuggingFace);
}

TEST(TensorRoles, NamesRoundTrip) {
  for (int i = 0; i < kNumTensorRoles; ++i) {
    const auto r = static_cast<TensorRole>(i);
    EXPECT_EQ(parse_role(role_name(r)), r);
  }
  EXPECT_EQ(role_name(TensorRole::DeltaNetParams), "deltanet_params");
  EXPECT_EQ(role_name(TensorRole::RoutedExperts), "routed_experts");
  EXPECT_EQ(parse_role("experts"), std::nullopt);
}

TEST(TensorRoles, SplitModuleParam) {
  const ModuleParam a = split_module_param("language_model.model.layers.0.mlp.gate.scales");
  EXPECT_EQ(a.module, "language_model.model.layers.0.mlp.gate");
  EXPECT_EQ(a.param, "scales");
  const ModuleParam b = split_module_param("model.language_model.layers.0.linear_attn.A_log");
  EXPECT_EQ(b.module, "model.language_model.layers.0.linear_attn");
  EXPECT_EQ(b.param, "A_log");
  EXPECT_EQ(split_module_param("x").module, "");
}

}  // namespace
}  // namespace tf
