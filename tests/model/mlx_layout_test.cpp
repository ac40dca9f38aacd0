// Other layouts of the same tiny model must give the same logits: an MLX conversion (mlx-lm /
// mlx-vlm naming, stacked SwitchGLU experts, conv [C, K, 1], +1 baked into the zero-centred
// norms) and HF per-expert expert tensors.
#include <gtest/gtest.h>

#include "model_test_util.h"
#include "test_checkpoints.h"

namespace tf {
namespace {

using test::tiny_dir;

class OtherLayouts : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto hf = Model::load(tiny_dir(), 2);
    tokens_ = new std::vector<int32_t>(test::fixture_tokens("seq40"));
    hf_logits_ = new std::vector<float>(test::prefill_logits(*hf, *tokens_));
  }
  static void TearDownTestSuite() {
    delete tokens_;
    delete hf_logits_;
  }
  static std::vector<int32_t>* tokens_;
  static std::vector<float>* hf_logits_;
};
std::vector<int32_t>* OtherLayouts::tokens_ = nullptr;
std::vector<float>* OtherLayouts::hf_logits_ = nullptr;

TEST_F(OtherLayouts, MlxLmConversionGivesIdenticalLogits) {
  test::TempDir dir("mlx-lm");
  test::convert_to_mlx(tiny_dir(), dir.path, {});
  auto m = Model::load(dir.path, 2);
  EXPECT_EQ(m->flavour(), CheckpointFlavour::MlxLm);
  EXPECT_FALSE(m->config().vision.has_value());
  // The same float values in the same order of operations: bit-identical in both modes.
  EXPECT_EQ(test::prefill_logits(*m, *tokens_), *hf_logits_);
  const auto d = test::decode_logits(*m, *tokens_);
  const auto hf = Model::load(tiny_dir(), 2);
  EXPECT_EQ(d, test::decode_logits(*hf, *tokens_));
  // Norms were offset exactly once: stored 1 + w is used as is.
  EXPECT_EQ(m->weights().final_norm, hf->weights().final_norm);
  EXPECT_EQ(m->weights().layers[3].attn.q_norm, hf->weights().layers[3].attn.q_norm);
  EXPECT_EQ(m->weights().layers[0].gdn.norm, hf->weights().layers[0].gdn.norm);
}

TEST_F(OtherLayouts, MlxVlmConfigGivesIdenticalLogits) {
  test::TempDir dir("mlx-vlm");
  test::convert_to_mlx(tiny_dir(), dir.path, {.keep_vision_config = true});
  auto m = Model::load(dir.path, 2);
  EXPECT_TRUE(m->config().vision.has_value());
  EXPECT_EQ(test::prefill_logits(*m, *tokens_), *hf_logits_);
}

TEST_F(OtherLayouts, Bf16NormsAreUsedAsStored) {
  // What MLX conversions really store: 1 + w rounded to bf16. The loader must use exactly
  // that value (no second offset). (Logits are not compared: this random tiny model flips
  // experts under such rounding, see tests/data/README.md.)
  test::TempDir dir("mlx-bf16-norms");
  test::convert_to_mlx(tiny_dir(), dir.path, {.norm_dtype = DType::BF16});
  auto m = Model::load(dir.path, 2);
  auto hf = Model::load(tiny_dir(), 2);
  const auto& a = m->weights().layers[1].post_norm;
  const auto& b = hf->weights().layers[1].post_norm;  // 1 + w in float
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i], bf16_to_f32(f32_to_bf16(b[i]))) << i;
}

TEST_F(OtherLayouts, HfPerExpertTensorsGiveIdenticalLogits) {
  test::TempDir dir("hf-per-expert");
  test::convert_to_hf_per_expert(tiny_dir(), dir.path);
  auto m = Model::load(dir.path, 2);
  EXPECT_EQ(m->flavour(), CheckpointFlavour::HuggingFace);
  EXPECT_EQ(test::prefill_logits(*m, *tokens_), *hf_logits_);
}

}  // namespace
}  // namespace tf
