// config.json in the HF, mlx-vlm and mlx-lm layouts (spec §1, §5.5).
#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include "storage/model_config.h"

namespace tf {
namespace {

using nlohmann::json;

const std::string kData = TIGHTFIT_TEST_DATA;

json read_json(const std::string& path) {
  std::ifstream in(path);
  return json::parse(in);
}

void expect_error(const json& j, std::initializer_list<std::string> needles) {
  try {
    ModelConfig::from_json(j, "my/config.json");
    FAIL() << "accepted " << j.dump().substr(0, 200);
  } catch (const std::runtime_error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("my/config.json"), std::string::npos) << msg;
    for (const auto& n : needles) EXPECT_NE(msg.find(n), std::string::npos) << "'" << n << "' not in: " << msg;
  }
}

TEST(ModelConfig, Real35BConfig) {
  const ModelConfig c = ModelConfig::load(kData + "/configs/qwen3.5-35b-a3b");
  EXPECT_EQ(c.architectures, (std::vector<std::string>{"Qwen3_5MoeForConditionalGeneration"}));
  EXPECT_EQ(c.model_type, "qwen3_5_moe");
  const TextConfig& t = c.text;
  EXPECT_EQ(t.model_type, "qwen3_5_moe_text");
  EXPECT_EQ(t.hidden_size, 2048);
  EXPECT_EQ(t.num_hidden_layers, 40);
  ASSERT_EQ(t.layer_types.size(), 40u);
  for (int i = 0; i < 40; ++i)
    EXPECT_EQ(t.layer_types[i], (i + 1) % 4 == 0 ? LayerType::FullAttention : LayerType::LinearAttention) << i;
  EXPECT_EQ(t.vocab_size, 248320);
  EXPECT_FLOAT_EQ(t.rms_norm_eps, 1e-6f);
  EXPECT_FALSE(t.tie_word_embeddings);
  EXPECT_EQ(t.max_position_embeddings, 262144);
  EXPECT_EQ(t.num_attention_heads, 16);
  EXPECT_EQ(t.num_key_value_heads, 2);
  EXPECT_EQ(t.head_dim, 256);
  EXPECT_TRUE(t.attn_output_gate);
  EXPECT_FLOAT_EQ(t.partial_rotary_factor, 0.25f);
  EXPECT_EQ(t.rotary_dim(), 64);
  EXPECT_DOUBLE_EQ(t.rope_theta, 1e7);
  EXPECT_EQ(t.mrope_section, (std::vector<int>{11, 11, 10}));
  EXPECT_TRUE(t.mrope_interleaved);
  EXPECT_EQ(t.linear_num_key_heads, 16);
  EXPECT_EQ(t.linear_num_value_heads, 32);
  EXPECT_EQ(t.linear_key_head_dim, 128);
  EXPECT_EQ(t.linear_value_head_dim, 128);
  EXPECT_EQ(t.linear_conv_kernel_dim, 4);
  EXPECT_EQ(t.num_experts, 256);
  EXPECT_EQ(t.num_experts_per_tok, 8);
  EXPECT_EQ(t.moe_intermediate_size, 512);
  EXPECT_EQ(t.shared_expert_intermediate_size, 512);
  EXPECT_TRUE(t.mlp_only_layers.empty());
  EXPECT_TRUE(c.is_moe());
  EXPECT_TRUE(t.is_moe_layer(0));
  EXPECT_EQ(t.eos_token_ids, (std::vector<int>{248044}));
  ASSERT_TRUE(c.vision.has_value());
  EXPECT_EQ(c.vision->depth, 27);
  EXPECT_EQ(c.vision->hidden_size, 1152);
  EXPECT_EQ(c.vision->num_heads, 16);
  EXPECT_EQ(c.vision->intermediate_size, 4304);
  EXPECT_EQ(c.vision->out_hidden_size, 2048);
  EXPECT_EQ(c.vision->num_position_embeddings, 2304);
  EXPECT_EQ(c.vision->patch_size, 16);
  EXPECT_EQ(c.vision->temporal_patch_size, 2);
  EXPECT_EQ(c.vision->spatial_merge_size, 2);
  EXPECT_TRUE(c.vision->deepstack_visual_indexes.empty());
  EXPECT_EQ(c.image_token_id, 248056);
  EXPECT_EQ(c.video_token_id, 248057);
  EXPECT_EQ(c.vision_start_token_id, 248053);
  EXPECT_EQ(c.vision_end_token_id, 248054);
  EXPECT_FALSE(c.quantization.has_value());
  EXPECT_EQ((*c.raw)["transformers_version"], "4.57.0.dev0");
}

TEST(ModelConfig, TinyFixture) {
  const ModelConfig c = ModelConfig::load(kData + "/tiny-qwen35moe-a");
  EXPECT_EQ(c.text.hidden_size, 64);
  EXPECT_EQ(c.text.num_hidden_layers, 4);
  EXPECT_EQ(c.text.layer_types.back(), LayerType::FullAttention);
  EXPECT_EQ(c.text.head_dim, 32);
  EXPECT_EQ(c.text.rotary_dim(), 8);
  EXPECT_EQ(c.text.mrope_section, (std::vector<int>{2, 1, 1}));
  EXPECT_EQ(c.text.num_experts, 8);
  EXPECT_EQ(c.text.num_experts_per_tok, 2);
  EXPECT_EQ(c.text.eos_token_ids, (std::vector<int>{511}));
}

// mlx-lm flattens the text fields to the top level, drops vision_config, uses legacy rope
// fields and writes a quantization block with per-module overrides.
TEST(ModelConfig, MlxLmFlatWithQuantization) {
  json j = read_json(kData + "/configs/qwen3.5-35b-a3b/config.json");
  json flat = j["text_config"];
  flat["model_type"] = "qwen3_5_moe";
  flat.erase("layer_types");  // fall back to full_attention_interval
  flat.erase("rope_parameters");
  flat["rope_scaling"] = {{"type", "default"}, {"mrope_section", {11, 11, 10}}, {"mrope_interleaved", true}};
  flat["rope_theta"] = 5000000;
  flat["eos_token_id"] = {248046, 248044};
  flat["quantization"] = {
      {"group_size", 64},
      {"bits", 2},
      {"mode", "affine"},
      {"language_model.model.layers.0.mlp.gate", {{"group_size", 64}, {"bits", 8}}},
      {"language_model.model.layers.0.mlp.shared_expert_gate", false},
      {"model.language_model.layers.1.self_attn.q_proj", {{"group_size", 32}, {"bits", 6}}},
      {"model.layers.2.linear_attn.out_proj", {{"bits", 3}}},
      {"language_model.lm_head", true},
  };
  flat["quantization_config"] = flat["quantization"];
  const ModelConfig c = ModelConfig::from_json(flat, "flat/config.json");
  EXPECT_EQ(c.model_type, "qwen3_5_moe");
  EXPECT_EQ(c.text.model_type, "qwen3_5_moe");
  EXPECT_FALSE(c.vision.has_value());
  EXPECT_EQ(c.text.layer_types.size(), 40u);
  EXPECT_EQ(c.text.layer_types[3], LayerType::FullAttention);
  EXPECT_EQ(c.text.layer_types[4], LayerType::LinearAttention);
  EXPECT_DOUBLE_EQ(c.text.rope_theta, 5e6);
  EXPECT_FLOAT_EQ(c.text.partial_rotary_factor, 0.25f);  // from beside rope_scaling
  EXPECT_EQ(c.text.mrope_section, (std::vector<int>{11, 11, 10}));
  EXPECT_EQ(c.text.eos_token_ids, (std::vector<int>{248046, 248044}));

  ASSERT_TRUE(c.quantization.has_value());
  const QuantizationConfig& q = *c.quantization;
  EXPECT_EQ(q.defaults, (QuantSpec{2, 64, "affine"}));
  EXPECT_EQ(q.lookup("language_model.model.layers.0.mlp.gate"), (QuantSpec{8, 64, "affine"}));
  // HF spelling of the same module finds the MLX key.
  EXPECT_EQ(q.lookup("model.language_model.layers.0.mlp.gate"), (QuantSpec{8, 64, "affine"}));
  EXPECT_EQ(q.lookup("language_model.model.layers.0.mlp.shared_expert_gate"), std::nullopt);
  // An HF-spelled key answers an MLX query.
  EXPECT_EQ(q.lookup("language_model.model.layers.1.self_attn.q_proj"), (QuantSpec{6, 32, "affine"}));
  // A key without the leading language_model. answers the full path; missing keys in an
  // override take MLX's own defaults (group 64), not the block's.
  EXPECT_EQ(q.lookup("language_model.model.layers.2.linear_attn.out_proj"), (QuantSpec{3, 64, "affine"}));
  EXPECT_EQ(q.lookup("language_model.lm_head"), q.defaults);
  EXPECT_EQ(q.lookup("language_model.model.layers.5.mlp.switch_mlp.up_proj"), q.defaults);
  // find_override tells an explicit entry (even `false`) from the defaults.
  ASSERT_NE(q.find_override("model.language_model.layers.0.mlp.gate"), nullptr);
  EXPECT_EQ(*q.find_override("model.language_model.layers.0.mlp.gate"), (QuantSpec{8, 64, "affine"}));
  ASSERT_NE(q.find_override("language_model.model.layers.0.mlp.shared_expert_gate"), nullptr);
  EXPECT_EQ(*q.find_override("language_model.model.layers.0.mlp.shared_expert_gate"), std::nullopt);
  ASSERT_NE(q.find_override("language_model.lm_head"), nullptr);  // `true`: explicit, the defaults
  EXPECT_EQ(*q.find_override("language_model.lm_head"), q.defaults);
  EXPECT_EQ(q.find_override("language_model.model.layers.5.mlp.switch_mlp.up_proj"), nullptr);

  // to_json round-trips.
  const QuantizationConfig back = QuantizationConfig::from_json(q.to_json(), "x");
  EXPECT_EQ(back.defaults, q.defaults);
  EXPECT_EQ(back.overrides, q.overrides);
  EXPECT_EQ(q.to_json()["language_model.model.layers.0.mlp.shared_expert_gate"], false);
}

// mlx-vlm keeps text_config / vision_config and writes quantization at the top level.
TEST(ModelConfig, MlxVlmQuantizationConfigOnly) {
  json j = read_json(kData + "/configs/qwen3.5-35b-a3b/config.json");
  j["quantization_config"] = {{"group_size", 128}, {"bits", 4}};
  ModelConfig c = ModelConfig::from_json(j);
  ASSERT_TRUE(c.quantization.has_value());
  EXPECT_EQ(c.quantization->defaults, (QuantSpec{4, 128, "affine"}));
  EXPECT_TRUE(c.vision.has_value());
  // A foreign quantization_config (fp8 HF checkpoints) is not an MLX block.
  j["quantization_config"] = {{"quant_method", "fp8"}, {"weight_block_size", {128, 128}}};
  EXPECT_FALSE(ModelConfig::from_json(j).quantization.has_value());
}

TEST(ModelConfig, DenseQwen35) {
  json j = read_json(kData + "/configs/qwen3.5-35b-a3b/config.json");
  json& t = j["text_config"];
  for (const char* k : {"num_experts", "num_experts_per_tok", "moe_intermediate_size",
                        "shared_expert_intermediate_size"})
    t.erase(k);
  t["model_type"] = "qwen3_5_text";
  j["model_type"] = "qwen3_5";
  expect_error(j, {"intermediate_size"});
  t["intermediate_size"] = 9216;
  t["tie_word_embeddings"] = true;
  const ModelConfig c = ModelConfig::from_json(j);
  EXPECT_FALSE(c.is_moe());
  EXPECT_FALSE(c.text.is_moe_layer(0));
  EXPECT_EQ(c.text.intermediate_size, 9216);
  EXPECT_TRUE(c.text.tie_word_embeddings);
  EXPECT_EQ(c.model_type, "qwen3_5");
}

TEST(ModelConfig, ErrorsNameFieldAndFile) {
  const json base = read_json(kData + "/configs/qwen3.5-35b-a3b/config.json");
  json j = base;
  j["text_config"].erase("hidden_size");
  expect_error(j, {"missing required field \"hidden_size\"", "text_config"});
  j = base;
  j["text_config"]["num_attention_heads"] = "sixteen";
  expect_error(j, {"text_config.num_attention_heads", "must be an integer", "sixteen"});
  j = base;
  j["text_config"]["num_experts_per_tok"] = 2.5;
  expect_error(j, {"text_config.num_experts_per_tok", "integer"});
  j = base;
  j["text_config"]["layer_types"][3] = "sliding_attention";
  expect_error(j, {"layer_types", "sliding_attention"});
  j = base;
  j["text_config"]["layer_types"].erase(0);
  expect_error(j, {"layer_types", "39 entries", "40"});
  j = base;
  j["text_config"]["rope_parameters"].erase("rope_theta");
  expect_error(j, {"rope_theta"});
  j = base;
  j["vision_config"].erase("depth");
  expect_error(j, {"\"depth\"", "vision_config"});
  j = base;
  j["text_config"]["attn_output_gate"] = 1;
  expect_error(j, {"attn_output_gate", "true or false"});
  j = base;
  j["text_config"]["eos_token_id"] = "x";
  expect_error(j, {"eos_token_id"});
  expect_error(json::array(), {"not a JSON object"});
}

TEST(ModelConfig, QuantizationModesAndValues) {
  json j = read_json(kData + "/configs/qwen3.5-35b-a3b/config.json");
  j["quantization"] = {{"group_size", 32}, {"bits", 4}, {"mode", "mxfp4"}};
  expect_error(j, {"mxfp4", "affine"});
  j["quantization"] = {{"group_size", 64}, {"bits", 4}, {"a.b", {{"bits", 4}, {"mode", "nvfp4"}}}};
  expect_error(j, {"nvfp4", "\"a.b\""});
  j["quantization"] = {{"group_size", 64}, {"bits", 7}};
  expect_error(j, {"7 bits"});
  j["quantization"] = {{"group_size", 48}, {"bits", 4}};
  expect_error(j, {"group size 48"});
  j["quantization"] = {{"group_size", 64}, {"bits", "4"}};
  expect_error(j, {"bits", "integer"});
  j["quantization"] = 5;
  expect_error(j, {"quantization"});
  // `mode` absent: affine (older files).
  j["quantization"] = {{"group_size", 64}, {"bits", 3}};
  EXPECT_EQ(ModelConfig::from_json(j).quantization->defaults, (QuantSpec{3, 64, "affine"}));
}

TEST(ModelConfig, LoadErrors) {
  EXPECT_THROW(ModelConfig::load(testing::TempDir() + "/nowhere"), std::runtime_error);
  const std::string dir = testing::TempDir() + "/badconfig";
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/config.json") << "{\"hidden_size\": ";
  try {
    ModelConfig::load(dir);
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(dir + "/config.json: not valid JSON"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace tf
