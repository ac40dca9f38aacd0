// generation_config.json defaults, flag overrides and --logit-bias parsing.
#include "runtime/sampler_config.h"

#include <cmath>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

namespace tf {
namespace {

const std::filesystem::path kData = TIGHTFIT_TEST_DATA;

TEST(GenerationConfig, ReadsTheQwen35File) {
  auto g = load_generation_defaults(kData / "configs" / "qwen3.5-35b-a3b");
  EXPECT_TRUE(g.from_file);
  EXPECT_FLOAT_EQ(g.sampler.temperature, 1.0f);
  EXPECT_EQ(g.sampler.top_k, 20);
  EXPECT_FLOAT_EQ(g.sampler.top_p, 0.95f);
  EXPECT_FLOAT_EQ(g.sampler.min_p, 0.0f);
  EXPECT_FLOAT_EQ(g.sampler.repetition_penalty, 1.0f);
  EXPECT_EQ(g.eos_token_ids, (std::vector<int32_t>{248046, 248044}));
  EXPECT_EQ(g.bos_token_id, 248044);
  EXPECT_EQ(g.pad_token_id, 248044);
  EXPECT_FALSE(g.max_new_tokens.has_value());
}

TEST(GenerationConfig, MissingFileGivesGreedyDefaults) {
  auto g = load_generation_defaults(kData / "tiny-qwen35moe-a");
  EXPECT_FALSE(g.from_file);
  EXPECT_TRUE(g.sampler.greedy());
  EXPECT_TRUE(g.eos_token_ids.empty());
}

TEST(GenerationConfig, DoSampleFalseOrMissingMeansGreedy) {
  auto g = parse_generation_config(R"({"do_sample": false, "temperature": 0.7, "top_k": 5})", "x");
  EXPECT_TRUE(g.sampler.greedy());
  EXPECT_EQ(g.sampler.top_k, 5);
  g = parse_generation_config(R"({"temperature": 0.7})", "x");
  EXPECT_TRUE(g.sampler.greedy());
  g = parse_generation_config(R"({"do_sample": true})", "x");
  EXPECT_FLOAT_EQ(g.sampler.temperature, 1.0f);
  g = parse_generation_config(
      R"({"do_sample": true, "temperature": 0.6, "min_p": 0.05, "repetition_penalty": 1.1,
          "eos_token_id": 7, "max_new_tokens": 128, "transformers_version": "4.57"})",
      "x");
  EXPECT_FLOAT_EQ(g.sampler.temperature, 0.6f);
  EXPECT_FLOAT_EQ(g.sampler.min_p, 0.05f);
  EXPECT_FLOAT_EQ(g.sampler.repetition_penalty, 1.1f);
  EXPECT_EQ(g.eos_token_ids, (std::vector<int32_t>{7}));
  EXPECT_EQ(g.max_new_tokens, 128);
}

TEST(GenerationConfig, BadFilesNameTheFileAndField) {
  auto message = [](const std::string& text) {
    try {
      parse_generation_config(text, "/m/generation_config.json");
    } catch (const std::runtime_error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message("{not json").find("/m/generation_config.json"), std::string::npos);
  EXPECT_NE(message("[1, 2]").find("JSON object"), std::string::npos);
  EXPECT_NE(message(R"({"top_k": "20"})").find("top_k"), std::string::npos);
  EXPECT_NE(message(R"({"eos_token_id": [1, "x"]})").find("eos_token_id"), std::string::npos);
  EXPECT_NE(message(R"({"do_sample": "yes"})").find("do_sample"), std::string::npos);
  EXPECT_NE(message(R"({"do_sample": true, "top_p": 2.0})").find("top-p"), std::string::npos);

  auto dir = std::filesystem::temp_directory_path() / "tf_genconfig_test";
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "generation_config.json") << "{\"top_k\": ";
  try {
    load_generation_defaults(dir);
    ADD_FAILURE() << "truncated file accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("generation_config.json"), std::string::npos);
  }
  std::filesystem::remove_all(dir);
}

TEST(SamplerOverrides, OnlySetFieldsReplaceTheBase) {
  SamplerConfig base;
  base.temperature = 1.0f;
  base.top_k = 20;
  base.top_p = 0.95f;
  base.logit_bias = {{1, 2.0f}};
  SamplerOverrides o;
  o.temperature = 0.6f;
  o.presence_penalty = 1.5f;
  o.seed = 7;
  o.logit_bias = {{3, -1.0f}};
  auto c = apply_overrides(base, o);
  EXPECT_FLOAT_EQ(c.temperature, 0.6f);
  EXPECT_EQ(c.top_k, 20);
  EXPECT_FLOAT_EQ(c.top_p, 0.95f);
  EXPECT_FLOAT_EQ(c.presence_penalty, 1.5f);
  EXPECT_EQ(c.seed, 7u);
  EXPECT_EQ(c.logit_bias.size(), 2u);
  o = {};
  o.temperature = 0.0f;
  EXPECT_TRUE(apply_overrides(base, o).greedy());
}

TEST(SamplerOverrides, ParseLogitBias) {
  auto b = parse_logit_bias("248046:-100,13:2.5,7:-inf");
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(b[0].first, 248046);
  EXPECT_FLOAT_EQ(b[0].second, -100.0f);
  EXPECT_EQ(b[1].first, 13);
  EXPECT_FLOAT_EQ(b[1].second, 2.5f);
  EXPECT_TRUE(std::isinf(b[2].second) && b[2].second < 0);
  for (const char* bad : {"", "13", "x:1", "13:", "13:abc", "-1:2", "1:2,", "1:2x"}) {
    EXPECT_THROW(parse_logit_bias(bad), std::invalid_argument) << bad;
  }
}

}  // namespace
}  // namespace tf
