// Image prompts end to end on the tiny VL fixture (spec §4.7–4.8): PNG → processor → vision
// tower → placeholder expansion, 3-D positions and rope delta (prompts.json) → logits of every
// position in prefill and in decode against the float64 reference and against llama.cpp's
// text model fed the reference embeddings. As for the text model: per-position relative L2
// ≤ 1e-3 and the same argmax (the fixture's references agree to ≤ 7e-5 max abs, logits std 0.8).
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include <nlohmann/json.hpp>

#include "model/session.h"
#include "runtime/multimodal_prompt.h"
#include "storage/npy.h"

namespace tf {
namespace {

const std::string kVl = std::string(TIGHTFIT_TEST_DATA) + "/tiny-qwen35moe-vl";
constexpr double kTolerance = 1e-3;

nlohmann::json prompt_json(const std::string& name) {
  std::ifstream in(kVl + "/prompts.json");
  return nlohmann::json::parse(in)["prompts"][name];
}

// The rendered form of a fixture prompt: text ids with one image token per image.
std::vector<int32_t> rendered_ids(const nlohmann::json& p, int32_t image_token) {
  std::vector<int32_t> ids;
  for (const auto& s : p["segments"]) {
    if (s.contains("text"))
      for (int v : s["text"]) ids.push_back(v);
    else
      ids.push_back(image_token);
  }
  return ids;
}

double relative_l2(const float* a, const float* b, int64_t n) {
  double num = 0, den = 0;
  for (int64_t i = 0; i < n; ++i) {
    num += (static_cast<double>(a[i]) - b[i]) * (static_cast<double>(a[i]) - b[i]);
    den += static_cast<double>(b[i]) * b[i];
  }
  return std::sqrt(num / den);
}

int64_t argmax(const float* x, int64_t n) {
  return std::max_element(x, x + n) - x;
}

class ImagePrompts : public ::testing::TestWithParam<const char*> {
 protected:
  static void SetUpTestSuite() {
    model_ = Model::load(kVl, 2).release();
    config_ = new ImagePreprocessorConfig(
        ImagePreprocessorConfig::load(kVl, *model_->vision_config()));
  }
  static void TearDownTestSuite() {
    delete model_;
    delete config_;
  }

  MultimodalPrompt build(const std::string& name) {
    const nlohmann::json p = prompt_json(name);
    std::vector<ImageFeatures> images;
    for (const auto& s : p["segments"])
      if (s.contains("image"))
        images.push_back(encode_image_file(*model_, *config_, kVl + "/" + s["image"].get<std::string>()));
    return build_multimodal_prompt(*model_, rendered_ids(p, model_->config().image_token_id),
                                   images);
  }

  void expect_logits(const std::vector<float>& got, const std::string& file, int64_t first_row) {
    const NpyArray ref = read_npy(kVl + "/" + file);
    const int64_t V = ref.shape[1];
    ASSERT_EQ(V, model_->vocab_size());
    const int64_t rows = static_cast<int64_t>(got.size()) / V;
    for (int64_t r = 0; r < rows; ++r) {
      const float* g = got.data() + r * V;
      const float* w = ref.data.data() + (first_row + r) * V;
      EXPECT_LE(relative_l2(g, w, V), kTolerance) << file << " position " << first_row + r;
      EXPECT_EQ(argmax(g, V), argmax(w, V)) << file << " position " << first_row + r;
    }
  }

  static Model* model_;
  static ImagePreprocessorConfig* config_;
};
Model* ImagePrompts::model_ = nullptr;
ImagePreprocessorConfig* ImagePrompts::config_ = nullptr;

TEST_P(ImagePrompts, IdsPositionsAndRopeDeltaMatchTheFixture) {
  const nlohmann::json p = prompt_json(GetParam());
  const MultimodalPrompt mm = build(GetParam());
  EXPECT_EQ(mm.ids, p["input_ids"].get<std::vector<int32_t>>());
  const auto thw = p["position_ids_thw"].get<std::vector<std::vector<int64_t>>>();
  ASSERT_EQ(mm.positions.size(), thw[0].size());
  for (size_t i = 0; i < mm.positions.size(); ++i)
    EXPECT_EQ(mm.positions[i], (Position3{thw[0][i], thw[1][i], thw[2][i]})) << "token " << i;
  EXPECT_EQ(mm.rope_delta, p["rope_delta"].get<int64_t>());
  EXPECT_EQ(static_cast<int64_t>(mm.ids.size()) + mm.rope_delta,
            p["next_text_position"].get<int64_t>());
}

TEST_P(ImagePrompts, PrefillLogitsMatchTheReferences) {
  const MultimodalPrompt mm = build(GetParam());
  Session s(*model_);
  const auto l = s.prefill_embeddings(mm.embeddings, mm.positions, true);
  const std::vector<float> got(l.begin(), l.end());
  expect_logits(got, "logits_" + std::string(GetParam()) + ".npy", 0);
  expect_logits(got, "logits_" + std::string(GetParam()) + "_llamacpp_refembeds.npy", 0);
}

TEST_P(ImagePrompts, DecodeAfterTheImageUsesTheRopeDelta) {
  // Prefill up to the last image token, then decode the rest one token at a time: the
  // positions come from the session's rope delta (spec §4.8), not from the prompt walk.
  const MultimodalPrompt mm = build(GetParam());
  const nlohmann::json img = prompt_json(GetParam())["images"][0];
  const int64_t split = img["first_row"].get<int64_t>() + img["n_tokens"].get<int64_t>();
  const int64_t H = model_->hidden_size();
  Session s(*model_);
  auto l = s.prefill_embeddings(std::span<const float>(mm.embeddings).first(split * H),
                                std::span<const Position3>(mm.positions).first(split), true);
  std::vector<float> got(l.begin(), l.end());
  s.set_rope_delta(mm.rope_delta);
  for (size_t i = split; i < mm.ids.size(); ++i) {
    l = s.decode(mm.ids[i]);
    got.insert(got.end(), l.begin(), l.end());
  }
  expect_logits(got, "logits_" + std::string(GetParam()) + ".npy", 0);
}

INSTANTIATE_TEST_SUITE_P(Fixture, ImagePrompts, ::testing::Values("img64x64", "img96x64"));

ImageFeatures fake_image(ImageGrid grid, int64_t hidden) {
  ImageFeatures f;
  f.grid = grid;
  f.tokens = grid.merged_tokens(2);
  f.embeddings.assign(f.tokens * hidden, 0.5f);
  return f;
}

TEST(MultimodalPositions, SpecExampleFourTextTokensThenAnEightByEightImage) {
  // Spec §4.8: text 0–3, the image at T = 4 with H, W ∈ 4…11, the next text token at 12.
  constexpr int32_t kImage = 7;
  std::vector<int32_t> ids = {1, 2, 3, 4};
  ids.insert(ids.end(), 64, kImage);
  ids.push_back(5);
  const ImageGrid merged{1, 8, 8};
  int64_t next = 0;
  const std::vector<Position3> pos = multimodal_positions(ids, kImage, {&merged, 1}, &next);
  ASSERT_EQ(pos.size(), 69u);
  EXPECT_EQ(pos[3], Position3::text(3));
  EXPECT_EQ(pos[4], (Position3{4, 4, 4}));
  EXPECT_EQ(pos[4 + 9], (Position3{4, 5, 5}));   // row 1, column 1
  EXPECT_EQ(pos[4 + 63], (Position3{4, 11, 11}));
  EXPECT_EQ(pos[68], Position3::text(12));
  EXPECT_EQ(next, 13);
  // A wide image advances by its width: 2 × 3 merged → +3.
  std::vector<int32_t> wide = {1};
  wide.insert(wide.end(), 6, kImage);
  wide.push_back(2);
  const ImageGrid g{1, 2, 3};
  EXPECT_EQ(multimodal_positions(wide, kImage, {&g, 1}).back(), Position3::text(4));
}

TEST(MultimodalPositions, CountMismatchesAreErrors) {
  constexpr int32_t kImage = 7;
  const ImageGrid g{1, 2, 2};
  const std::vector<int32_t> three = {1, kImage, kImage, kImage, 2};  // needs 4
  EXPECT_THROW(multimodal_positions(three, kImage, {&g, 1}), std::invalid_argument);
  const std::vector<int32_t> none = {1, 2};
  EXPECT_THROW(multimodal_positions(none, kImage, {&g, 1}), std::invalid_argument);
  const std::vector<int32_t> extra = {1, kImage, kImage, kImage, kImage, kImage};
  EXPECT_THROW(multimodal_positions(extra, kImage, {&g, 1}), std::invalid_argument);
}

TEST(MultimodalPrompt, PlaceholderCountMustMatchTheImages) {
  const auto m = Model::load(kVl, 1);
  const int32_t pad = m->config().image_token_id;
  const std::vector<ImageFeatures> one = {fake_image({1, 4, 4}, m->hidden_size())};
  EXPECT_THROW(build_multimodal_prompt(*m, std::vector<int32_t>{1, pad, pad, 2}, one),
               std::invalid_argument);
  EXPECT_THROW(build_multimodal_prompt(*m, std::vector<int32_t>{1, 2}, one), std::invalid_argument);
  const std::vector<ImageFeatures> two = {one[0], one[0]};
  EXPECT_THROW(build_multimodal_prompt(*m, std::vector<int32_t>{1, pad, 2}, two),
               std::invalid_argument);
  // Two images in one prompt: each placeholder gets its own image's rows, in order.
  std::vector<ImageFeatures> ab = {fake_image({1, 4, 4}, m->hidden_size()),
                                   fake_image({1, 2, 4}, m->hidden_size())};
  std::fill(ab[1].embeddings.begin(), ab[1].embeddings.end(), -2.0f);
  const MultimodalPrompt p = build_multimodal_prompt(*m, std::vector<int32_t>{1, pad, 2, pad, 3}, ab);
  ASSERT_EQ(p.ids.size(), 3u + 4u + 2u);
  const int64_t H = m->hidden_size();
  EXPECT_EQ(p.embeddings[1 * H], 0.5f);
  EXPECT_EQ(p.embeddings[4 * H + 3], 0.5f);
  EXPECT_EQ(p.embeddings[6 * H], -2.0f);
  EXPECT_EQ(p.embeddings[7 * H + 5], -2.0f);
  EXPECT_EQ(p.positions[6], (Position3{4, 4, 4}));  // after 1, image (P=1, +2), 2 → P = 4
  EXPECT_EQ(p.positions.back(), Position3::text(6));
  EXPECT_EQ(p.rope_delta, 7 - 9);
}

TEST(MultimodalPrompt, TextOnlyPromptsAreUnchanged) {
  const auto m = Model::load(kVl, 1);
  const std::vector<int32_t> ids = {5, 6, 7};
  const MultimodalPrompt p = build_multimodal_prompt(*m, ids, {});
  EXPECT_EQ(p.ids, ids);
  EXPECT_EQ(p.rope_delta, 0);
  EXPECT_EQ(p.positions, (std::vector<Position3>{Position3::text(0), Position3::text(1),
                                                 Position3::text(2)}));
  Session a(*m), b(*m);
  const auto la = a.prefill(ids);
  const std::vector<float> want(la.begin(), la.end());
  const auto lb = b.prefill_embeddings(p.embeddings, p.positions);
  EXPECT_EQ(std::vector<float>(lb.begin(), lb.end()), want);
}

TEST(MultimodalPrompt, TextOnlyModelsCannotEncodeImages) {
  const auto m = Model::load(std::string(TIGHTFIT_TEST_DATA) + "/tiny-qwen35moe-a", 1);
  EXPECT_THROW(encode_image_file(*m, ImagePreprocessorConfig{}, kVl + "/img64x64.png"),
               std::logic_error);
}

}  // namespace
}  // namespace tf
