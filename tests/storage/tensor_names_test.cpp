#include <gtest/gtest.h>

#include "storage/tensor_names.h"

namespace tf {

TEST(TensorNames, HfToMlxAndBack) {
  const std::pair<const char*, const char*> cases[] = {
      {"model.language_model.layers.0.mlp.gate.weight", "language_model.model.layers.0.mlp.gate.weight"},
      {"model.language_model.embed_tokens.weight", "language_model.model.embed_tokens.weight"},
      {"model.visual.blocks.0.attn.qkv.weight", "vision_tower.blocks.0.attn.qkv.weight"},
      {"lm_head.weight", "language_model.lm_head.weight"},
      {"lm_head", "language_model.lm_head"},
  };
  for (const auto& [hf, mlx] : cases) {
    EXPECT_EQ(mlx_name_from_hf(hf), mlx);
    EXPECT_EQ(hf_name_from_mlx(mlx), hf);
    EXPECT_EQ(mlx_name_from_hf(mlx), mlx);  // already MLX: unchanged
    EXPECT_EQ(hf_name_from_mlx(hf), hf);
  }
  EXPECT_EQ(mlx_name_from_hf("model.language_model.visual.merger.norm.weight"), "vision_tower.merger.norm.weight");
  EXPECT_EQ(mlx_name_from_hf("mtp.layers.0.mlp.gate.weight"), "mtp.layers.0.mlp.gate.weight");
  EXPECT_EQ(mlx_name_from_hf("lm_headless.weight"), "lm_headless.weight");
}

TEST(TensorNames, CheckpointFlavour) {
  const std::vector<std::string> hf = {"model.language_model.norm.weight", "lm_head.weight",
                                       "model.visual.pos_embed.weight"};
  const std::vector<std::string> vlm = {"language_model.model.norm.weight",
                                        "vision_tower.pos_embed.weight"};
  const std::vector<std::string> lm = {"language_model.model.norm.weight", "language_model.lm_head.weight"};
  EXPECT_EQ(detect_flavour(hf), CheckpointFlavour::HuggingFace);
  EXPECT_EQ(detect_flavour(vlm), CheckpointFlavour::MlxVlm);
  EXPECT_EQ(detect_flavour(lm), CheckpointFlavour::MlxLm);
  EXPECT_EQ(detect_flavour({"model.language_model.norm.weight", "language_model.model.norm.weight"}),
            CheckpointFlavour::Unknown);
  EXPECT_EQ(detect_flavour({"foo"}), CheckpointFlavour::Unknown);
  EXPECT_STREQ(flavour_name(CheckpointFlavour::MlxVlm), "mlx-vlm");
  EXPECT_STREQ(flavour_name(CheckpointFlavour::Unknown), "unknown");
}

}  // namespace tf
