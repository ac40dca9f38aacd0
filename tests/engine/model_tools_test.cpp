// The tokenizer-free model tools of the public API (include/tightfit/logits.h, sensitivity.h):
// what `tightfit logits` and `tightfit sensitivity` run on.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "engine_test_util.h"
#include "tightfit/logits.h"
#include "tightfit/sensitivity.h"

namespace tightfit {
namespace {

const std::string kFixture = std::string(TIGHTFIT_TEST_DATA) + "/tiny-qwen35moe-a";

TEST(ComputeLogits, PrefillAndDecodeStepsAgreeOnABareCheckpoint) {
  // The fixture folder has config.json and weights only: no tokenizer is needed.
  const std::vector<int32_t> tokens = {1, 7, 42, 3, 99, 250, 5};
  LogitsOptions o{.model = kFixture, .threads = 2, .kv_type = "f32"};
  const Logits prefill = compute_logits(o, tokens);
  o.decode_steps = true;
  const Logits decode = compute_logits(o, tokens);
  ASSERT_EQ(prefill.rows, 7);
  ASSERT_GT(prefill.vocab, 0);
  ASSERT_EQ(prefill.values.size(), static_cast<size_t>(prefill.rows * prefill.vocab));
  ASSERT_EQ(decode.values.size(), prefill.values.size());
  double diff = 0, norm = 0;
  for (size_t i = 0; i < prefill.values.size(); ++i) {
    diff += std::pow(prefill.values[i] - decode.values[i], 2);
    norm += std::pow(prefill.values[i], 2);
  }
  EXPECT_LT(std::sqrt(diff / norm), 1e-4);
  EXPECT_EQ(prefill.layout, "Hugging Face");
  EXPECT_GT(prefill.layers, 0);
}

TEST(ComputeLogits, EqualsEngineScore) {
  auto engine = test::tiny_engine();
  const std::vector<int32_t> tokens = engine->encode("The quick brown fox");
  const Logits l = compute_logits({.model = test::tiny_random_dir(), .threads = 2}, tokens);
  ASSERT_EQ(l.vocab, engine->info().vocab_size);
  engine->score(tokens, 0, [&](int64_t row, std::span<const float> logits) {
    for (size_t v = 0; v < logits.size(); ++v)
      ASSERT_NEAR(logits[v], l.values[row * l.vocab + v], 1e-4f * (1 + std::abs(logits[v])));
  });
}

TEST(ComputeLogits, BadInputNamesTheField) {
  try {
    compute_logits({.model = kFixture}, std::vector<int32_t>{1, 1 << 30});
    FAIL() << "a token outside the vocabulary was accepted";
  } catch (const InvalidRequest& e) {
    EXPECT_EQ(e.param, "tokens");
    EXPECT_NE(std::string(e.what()).find("outside the vocabulary"), std::string::npos);
  }
  EXPECT_THROW(compute_logits({.model = kFixture}, {}), InvalidRequest);
  EXPECT_THROW(compute_logits({.model = kFixture, .kv_type = "q5"}, std::vector<int32_t>{1}),
               InvalidRequest);
  EXPECT_THROW(compute_logits({.model = "/nonexistent/model"}, std::vector<int32_t>{1}),
               ModelNotFound);
}

TEST(KvTypeForBits, NamesEveryWidthAndRefusesOthers) {
  EXPECT_EQ(kv_type_for_bits(32), "f32");
  EXPECT_EQ(kv_type_for_bits(16), "f16");
  EXPECT_EQ(kv_type_for_bits(8), "q8");
  EXPECT_EQ(kv_type_for_bits(4), "q4");
  EXPECT_EQ(kv_type_for_bits(2), "q2");
  EXPECT_THROW(kv_type_for_bits(3), InvalidRequest);
}

TEST(MeasureSensitivity, ReportsEveryModuleAndRefusesBadInput) {
  std::vector<std::string> warnings, sources;
  SensitivityOptions o{.model = kFixture, .bits = 2, .group_size = 32, .threads = 2};
  o.on_warning = [&](const std::string& w) { warnings.push_back(w); };
  o.on_sequence = [&](const std::string& s, int64_t) { sources.push_back(s); };
  const SensitivityResult r = measure_sensitivity(o, {{"a", {1, 2, 3, 4, 5, 6}}, {"b", {9, 8, 7}}});
  EXPECT_TRUE(warnings.empty());  // bf16 weights
  EXPECT_EQ(sources, (std::vector<std::string>{"a", "b"}));
  EXPECT_NE(r.json.find("\"modules\""), std::string::npos);
  EXPECT_NE(r.csv.find("lm_head"), std::string::npos);
  EXPECT_FALSE(r.table.empty());
  EXPECT_THROW(measure_sensitivity({.model = kFixture, .bits = 7}, {{"a", {1}}}), InvalidRequest);
  EXPECT_THROW(measure_sensitivity({.model = kFixture}, {}), InvalidRequest);
  try {
    measure_sensitivity({.model = kFixture}, {{"calib.json:0", {1, 1 << 30}}});
    FAIL() << "a token outside the vocabulary was accepted";
  } catch (const InvalidRequest& e) {
    EXPECT_NE(std::string(e.what()).find("calib.json:0"), std::string::npos);
  }
}

}  // namespace
}  // namespace tightfit
