// Only the selected experts' weights are read: poisoning every other expert with NaN must not
// change the logits (a NaN that is read, even times a zero weight, would spread to every logit).
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "model_test_util.h"
#include "test_checkpoints.h"

namespace tf {
namespace {

using test::RawTensor;
using test::tiny_dir;

TEST(ExpertSparsity, UnselectedExpertsAreNeverRead) {
  const std::vector<int32_t> tokens = {39, 231};
  auto model = Model::load(tiny_dir(), 2);
  std::set<std::pair<int, int>> used;  // (layer, expert)
  SessionOptions options;
  options.linear_tap = [&](const std::string& module, int layer, int expert, const WeightMatrix&,
                           const float*, int64_t) {
    if (expert >= 0) used.insert({layer, expert});
    (void)module;
  };
  Session tapped(*model, options);
  auto l = tapped.prefill(tokens, true);
  const std::vector<float> want(l.begin(), l.end());
  ASSERT_GE(used.size(), 8u);   // at least 2 experts in each of the 4 layers
  ASSERT_LE(used.size(), 16u);  // at most 2 tokens × 2 experts per layer: most stay unused

  test::TempDir dir("nan-experts");
  test::copy_checkpoint(tiny_dir(), dir.path, [&](std::vector<RawTensor>& ts) {
    for (auto& t : ts) {
      const bool gu = t.name.ends_with("mlp.experts.gate_up_proj");
      if (!gu && !t.name.ends_with("mlp.experts.down_proj")) continue;
      const int layer = std::stoi(t.name.substr(t.name.find("layers.") + 7));
      const size_t per_expert = t.bytes.size() / t.shape[0];
      for (int e = 0; e < t.shape[0]; ++e) {
        if (used.count({layer, e})) continue;
        uint8_t* p = t.bytes.data() + e * per_expert;
        for (size_t i = 0; i < per_expert; i += 2) {  // BF16 NaN 0x7fc0
          p[i] = 0xc0;
          p[i + 1] = 0x7f;
        }
      }
    }
  });
  auto poisoned = Model::load(dir.path, 2);
  EXPECT_TRUE(std::isnan(load_float(poisoned->checkpoint()
                                        .get("model.language_model.layers.0.mlp.experts.down_proj")
                                        .data,
                                    DType::BF16, 0)) ||
              used.count({0, 0}));
  EXPECT_EQ(test::prefill_logits(*poisoned, tokens), want);
  // Decode mode reads per token: still only the experts that token selects.
  EXPECT_EQ(test::decode_logits(*poisoned, tokens), test::decode_logits(*model, tokens));
}

}  // namespace
}  // namespace tf
