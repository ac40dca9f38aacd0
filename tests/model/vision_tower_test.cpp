// The vision tower on the tiny VL fixture (tests/data/tiny-qwen35moe-vl): image embeddings from
// the reference pixel values against the float64 numpy reference and llama.cpp's clip, every
// traced intermediate, the mlx-vlm layout, quantized linears, and binding errors.
//
// Tolerances (max |Δ|; embeddings have std ≈ 0.6): the fixture README measures the float32 vs
// float64 spread at ≤ 1e-6 and suggests ≤ 1e-4 as the gate, which we use for the reference and
// its traces. llama.cpp differs from the reference by up to 1.0e-3 through three documented
// shortcuts (tanh-GELU merger, fp16 GELU table, fp16 patch embedding), so against it we ask for
// ≤ 2e-3 — and that we stay ten times closer to the reference than llama.cpp is.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>

#include <nlohmann/json.hpp>

#include "model/model.h"
#include "model/session.h"
#include "model/vision_tower.h"
#include "storage/npy.h"
#include "test_checkpoints.h"

namespace tf {
namespace {

const std::string kDir = std::string(TIGHTFIT_TEST_DATA) + "/tiny-qwen35moe-vl";

struct Case {
  const char* name;
  ImageGrid grid;
};
const Case kCases[] = {{"img64x64", {1, 4, 4}}, {"img96x64", {1, 4, 6}}};

double max_abs_diff(const float* a, const float* b, size_t n) {
  double m = 0;
  for (size_t i = 0; i < n; ++i) m = std::max(m, std::fabs(static_cast<double>(a[i]) - b[i]));
  return m;
}

std::vector<float> embed(const Model& m, const Case& c) {
  const NpyArray px = read_npy(kDir + "/pixel_values_" + c.name + ".npy");
  EXPECT_EQ(px.shape, (std::vector<int64_t>{c.grid.patches(), 1536}));
  return m.encode_image(px.data, c.grid);
}

class VisionTower : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { model_ = Model::load(kDir, 2).release(); }
  static void TearDownTestSuite() {
    delete model_;
    model_ = nullptr;
  }
  static Model* model_;
};
Model* VisionTower::model_ = nullptr;

TEST_F(VisionTower, BindsTheFixtureTower) {
  ASSERT_TRUE(model_->has_vision());
  const VisionWeights& w = *model_->vision_weights();
  EXPECT_EQ(w.prefix, "model.visual.");
  EXPECT_EQ(w.patch_layout, PatchLayout::ChannelFirst);
  EXPECT_EQ(w.blocks.size(), 2u);
  EXPECT_EQ(w.pos_side, 8);
  EXPECT_EQ(w.merger_fc1.weight.rows, 128);
  EXPECT_EQ(w.merger_fc2.weight.rows, 64);
}

TEST_F(VisionTower, EmbeddingsMatchTheReferenceAndLlamaCpp) {
  for (const Case& c : kCases) {
    const std::vector<float> got = embed(*model_, c);
    const NpyArray ref = read_npy(kDir + "/image_embeds_" + c.name + ".npy");
    const NpyArray peer = read_npy(kDir + "/image_embeds_" + c.name + "_llamacpp.npy");
    ASSERT_EQ(ref.shape, (std::vector<int64_t>{c.grid.merged_tokens(2), 64})) << c.name;
    ASSERT_EQ(got.size(), ref.data.size()) << c.name;
    const double d_ref = max_abs_diff(got.data(), ref.data.data(), got.size());
    const double d_peer = max_abs_diff(got.data(), peer.data.data(), got.size());
    const double peer_vs_ref = max_abs_diff(peer.data.data(), ref.data.data(), got.size());
    EXPECT_LE(d_ref, 1e-4) << c.name;
    EXPECT_LE(d_peer, 2e-3) << c.name;
    EXPECT_LT(10 * d_ref, peer_vs_ref) << c.name << ": closer to llama.cpp's shortcuts than to HF";
  }
}

TEST_F(VisionTower, EveryTracedIntermediateMatches) {
  const VisionConfig& v = *model_->vision_config();
  for (const Case& c : kCases) {
    const NpyArray px = read_npy(kDir + "/pixel_values_" + c.name + ".npy");
    std::map<std::string, std::vector<float>> trace;
    std::vector<float> out(c.grid.merged_tokens(2) * 64);
    ThreadPool pool(1);
    vision_forward(*model_->vision_weights(), v, px.data.data(), c.grid, out.data(),
                   Compute{pool, ActivationPrecision::F32},
                   [&](const std::string& name, const float* d, int64_t rows, int64_t cols) {
                     trace[name].assign(d, d + rows * cols);
                   });
    const char* names[] = {"patch_embed_plus_pos_embed", "block0_fc1_preact", "block0_out",
                           "block1_fc1_preact", "block1_out", "merger_fc1_preact"};
    for (const char* n : names) {
      const NpyArray ref =
          read_npy(kDir + "/vision_trace_" + c.name + "/" + n + ".npy");
      ASSERT_EQ(trace[n].size(), ref.data.size()) << c.name << " " << n;
      EXPECT_LE(max_abs_diff(trace[n].data(), ref.data.data(), ref.data.size()), 1e-4)
          << c.name << " " << n;
    }
  }
}

TEST_F(VisionTower, TemporalGroupsAttendOnlyWithinThemselves) {
  // Two identical frames as two temporal groups: each group must give what one frame gives.
  const Case& c = kCases[0];
  const NpyArray px = read_npy(kDir + "/pixel_values_" + std::string(c.name) + ".npy");
  std::vector<float> twice = px.data;
  twice.insert(twice.end(), px.data.begin(), px.data.end());
  const std::vector<float> one = model_->encode_image(px.data, c.grid);
  const std::vector<float> two = model_->encode_image(twice, {2, 4, 4});
  ASSERT_EQ(two.size(), 2 * one.size());
  EXPECT_LE(max_abs_diff(two.data(), one.data(), one.size()), 1e-6);
  EXPECT_LE(max_abs_diff(two.data() + one.size(), one.data(), one.size()), 1e-6);
}

TEST_F(VisionTower, RejectsBadInputs) {
  const NpyArray px = read_npy(kDir + "/pixel_values_img64x64.npy");
  EXPECT_THROW(model_->encode_image(px.data, {1, 4, 6}), std::invalid_argument);  // size
  std::vector<float> odd(3 * 4 * 1536);
  EXPECT_THROW(model_->encode_image(odd, {1, 3, 4}), std::invalid_argument);  // not 2×2 blocks
}

TEST(VisionLoading, TextOnlyModelsAndTheSkipOption) {
  EXPECT_FALSE(Model::load(std::string(TIGHTFIT_TEST_DATA) + "/tiny-qwen35moe-a", 1)->has_vision());
  const auto skipped = Model::load(kDir, 1, ModelLoadOptions{.vision = false});
  EXPECT_FALSE(skipped->has_vision());
  EXPECT_THROW(skipped->encode_image(std::vector<float>(16 * 1536), {1, 4, 4}), std::logic_error);
}

// HF (out, C, T, kh, kw) → mlx-vlm (out, T, kh, kw, C) for the BF16 patch-embedding weight.
void permute_patch_embed(test::RawTensor& t) {
  const int64_t O = t.shape[0], C = t.shape[1], T = t.shape[2], K = t.shape[3] * t.shape[4];
  std::vector<uint8_t> out(t.bytes.size());
  const size_t e = 2;
  for (int64_t o = 0; o < O; ++o)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t tt = 0; tt < T; ++tt)
        for (int64_t k = 0; k < K; ++k)
          std::memcpy(&out[(((o * T + tt) * K + k) * C + c) * e],
                      &t.bytes[(((o * C + c) * T + tt) * K + k) * e], e);
  t.bytes = out;
  t.shape = {O, T, t.shape[3], t.shape[4], C};
}

TEST(VisionLoading, MlxVlmLayoutGivesTheSameEmbeddings) {
  test::TempDir mlx("vision-mlx"), permuted("vision-mlx-permuted");
  test::convert_to_mlx(kDir, mlx.path, {.keep_vision_config = true});
  test::copy_checkpoint(mlx.path, permuted.path, [](std::vector<test::RawTensor>& ts) {
    for (auto& t : ts)
      if (t.name == "vision_tower.patch_embed.proj.weight") permute_patch_embed(t);
  });
  const auto hf = Model::load(kDir, 1);
  const auto m = Model::load(permuted.path, 1);
  ASSERT_TRUE(m->has_vision());
  EXPECT_EQ(m->vision_weights()->prefix, "vision_tower.");
  EXPECT_EQ(m->vision_weights()->patch_layout, PatchLayout::ChannelLast);
  for (const Case& c : kCases) {
    const auto a = embed(*hf, c), b = embed(*m, c);
    ASSERT_EQ(a.size(), b.size());
    EXPECT_LE(max_abs_diff(a.data(), b.data(), a.size()), 1e-5) << c.name;
  }
}

TEST(VisionLoading, QuantizedLinearsBindAndStayClose) {
  test::TempDir q("vision-q8");
  test::convert_to_mlx(kDir, q.path, {.bits = 8, .keep_vision_config = true});
  const auto m = Model::load(q.path, 1);
  ASSERT_TRUE(m->has_vision());
  EXPECT_TRUE(m->vision_weights()->merger_fc1.weight.quantized());
  const auto hf = Model::load(kDir, 1);
  for (const Case& c : kCases) {
    const auto a = embed(*hf, c), b = embed(*m, c);
    // 8-bit weights (group 64): errors of a few 1e-3 on values of std 0.6.
    EXPECT_LE(max_abs_diff(a.data(), b.data(), a.size()), 5e-2) << c.name;
  }
}

// A tower that cannot be bound leaves the text model usable and says why.
void expect_load_error(const std::string& tag,
                       const std::function<void(std::vector<test::RawTensor>&)>& edit_tensors,
                       const std::function<void(nlohmann::json&)>& edit_config,
                       const std::string& needle) {
  test::TempDir dir(tag);
  test::copy_checkpoint(kDir, dir.path, edit_tensors, edit_config);
  const auto m = Model::load(dir.path, 1);
  EXPECT_FALSE(m->has_vision()) << tag;
  EXPECT_NE(m->vision_error().find(needle), std::string::npos) << tag << ": " << m->vision_error();
  try {
    m->encode_image(std::vector<float>(16 * 1536), {1, 4, 4});
    ADD_FAILURE() << tag << ": encoded an image";
  } catch (const std::logic_error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << tag << ": " << e.what();
  }
  Session s(*m);
  EXPECT_EQ(s.prefill(std::vector<int32_t>{1, 2, 3}).size(), 512u) << tag;  // text still works
}

TEST(VisionLoading, BindingErrorsNameTheProblem) {
  auto drop = [](const std::string& name) {
    return [name](std::vector<test::RawTensor>& ts) {
      std::erase_if(ts, [&](const test::RawTensor& t) { return t.name == name; });
    };
  };
  expect_load_error("vision-missing", drop("model.visual.blocks.1.norm1.bias"), {},
                    "model.visual.blocks.1.norm1.bias");
  expect_load_error(
      "vision-extra",
      [](std::vector<test::RawTensor>& ts) {
        test::RawTensor t = ts.back();
        for (const auto& x : ts)
          if (x.name == "model.visual.blocks.1.norm1.bias") t = x;
        t.name = "model.visual.blocks.2.norm1.bias";
        ts.push_back(t);
      },
      {}, "model.visual.blocks.2.norm1.bias");
  expect_load_error(
      "vision-conv-shape",
      [](std::vector<test::RawTensor>& ts) {
        for (auto& t : ts)
          if (t.name == "model.visual.patch_embed.proj.weight") t.shape = {32, 3, 2, 256};
      },
      {}, "patch_embed.proj.weight");
  expect_load_error("vision-deepstack", {},
                    [](nlohmann::json& c) { c["vision_config"]["deepstack_visual_indexes"] = {1}; },
                    "deepstack");
  expect_load_error("vision-out-width", {},
                    [](nlohmann::json& c) { c["vision_config"]["out_hidden_size"] = 32; },
                    "out_hidden_size");
  expect_load_error("vision-pos-grid", {},
                    [](nlohmann::json& c) { c["vision_config"]["num_position_embeddings"] = 60; },
                    "num_position_embeddings");
}

}  // namespace
}  // namespace tf
