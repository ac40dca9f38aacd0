// Hostile config.json files (issue 20): dimensions no model has must fail at once with the
// field named, before anything is allocated per layer or multiplied into a shape.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "base/json_read.h"
#include "storage/model_config.h"

namespace tf {
namespace {

using nlohmann::json;

const std::string kData = TIGHTFIT_TEST_DATA;

json real_config() { return read_json_file(kData + "/configs/qwen3.5-35b-a3b/config.json"); }

std::string error_of(const json& j) {
  try {
    ModelConfig::from_json(j, "my/config.json");
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "(accepted)";
}

TEST(ModelConfigHostile, HugeLayerCountWithoutLayerTypesFailsAtOnce) {
  json j = real_config();
  j["text_config"]["num_hidden_layers"] = 2147483647;
  j["text_config"].erase("layer_types");
  const auto start = std::chrono::steady_clock::now();
  const std::string message = error_of(j);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
  EXPECT_NE(message.find("\"num_hidden_layers\" is 2147483647; no real model has more than 1024"), std::string::npos)
      << message;
}

TEST(ModelConfigHostile, EveryDimensionIsBounded) {
  const std::pair<const char*, const char*> text_fields[] = {
      {"hidden_size", "hidden_size"}, {"vocab_size", "vocab_size"}, {"num_attention_heads", "num_attention_heads"},
      {"head_dim", "head_dim"}, {"num_experts", "num_experts"}, {"moe_intermediate_size", "moe_intermediate_size"},
      {"linear_key_head_dim", "linear_key_head_dim"}, {"num_experts_per_tok", "num_experts_per_tok"}};
  for (const auto& [field, shown] : text_fields) {
    json j = real_config();
    j["text_config"][field] = 2000000000;
    EXPECT_NE(error_of(j).find(shown), std::string::npos) << field << ": " << error_of(j);
  }
  for (const char* field : {"depth", "hidden_size", "num_heads", "intermediate_size", "out_hidden_size",
                            "num_position_embeddings", "patch_size", "spatial_merge_size", "temporal_patch_size"}) {
    json j = real_config();
    j["vision_config"][field] = 2000000000;
    EXPECT_NE(error_of(j).find(std::string("vision_config.") + field), std::string::npos) << field << ": " << error_of(j);
  }
  json j = real_config();
  j["vision_config"]["patch_size"] = -16;
  EXPECT_NE(error_of(j).find("must be positive"), std::string::npos) << error_of(j);
  j = real_config();
  j["text_config"]["eos_token_id"] = json::array();
  for (int i = 0; i < 5000; ++i) j["text_config"]["eos_token_id"].push_back(1);
  EXPECT_NE(error_of(j).find("5000 entries"), std::string::npos) << error_of(j);
}

TEST(ModelConfigHostile, FloatsOutsideTheIntegersAreRejected) {
  // Found by fuzz_model_config under UBSan: 1e300 was converted to int64 before the range check
  // (undefined behaviour). Integral floats in range stay accepted.
  for (double value : {1e300, -1e300, 3e9, 4.5, std::nan("")}) {
    json j = real_config();
    j["vision_config"]["depth"] = value;
    EXPECT_NE(error_of(j).find("\"vision_config.depth\" must be an integer"), std::string::npos) << error_of(j);
  }
  json j = real_config();
  j["vision_config"]["depth"] = 27.0;
  EXPECT_EQ(error_of(j), "(accepted)");
}

TEST(ModelConfigHostile, RealConfigsStayWithinTheBounds) {
  EXPECT_EQ(error_of(real_config()), "(accepted)");
  EXPECT_NO_THROW(ModelConfig::load(kData + "/tiny-qwen35moe-a"));
  EXPECT_NO_THROW(ModelConfig::load(kData + "/tiny-qwen35moe-vl"));
}

TEST(ModelConfigHostile, DeeplyNestedConfigIsRejected) {
  const std::string dir = testing::TempDir() + "/deepconfig";
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/config.json") << "{\"x\": " << std::string(1000000, '[') << std::string(1000000, ']') << "}";
  try {
    ModelConfig::load(dir);
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("nested deeper than"), std::string::npos) << e.what();
  }
  // Built in memory (another caller's parser): checked before the recursive copy into `raw`.
  json deep = json::array();
  json* inner = &deep;
  for (int i = 0; i < 1000000; ++i) inner = &inner->emplace_back(json::array());
  json j = real_config();
  j["x"] = std::move(deep);
  EXPECT_NE(error_of(j).find("nested deeper than"), std::string::npos);
}

}  // namespace
}  // namespace tf
