// Image input (spec §4.1–4.2): decoding (libpng / libjpeg-turbo), smart resize, Pillow-exact bicubic
// resampling (tests/data/image-resize, made with Pillow 9.4 by scripts/make_image_resize_cases.py)
// and the patch vectors of the VL fixture's images against its reference pixel_values.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>

#include <nlohmann/json.hpp>
#include <stb_image_write.h>
#include <unistd.h>

#include "model/vision_positions.h"
#include "runtime/image_file.h"
#include "runtime/image_preprocessor.h"
#include "runtime/image_resize.h"
#include "runtime/png_test_header.h"
#include "storage/model_config.h"
#include "storage/npy.h"

namespace tf {
namespace {

const std::string kData = TIGHTFIT_TEST_DATA;
const std::string kVl = kData + "/tiny-qwen35moe-vl";

ImagePreprocessorConfig vl_config() {
  return ImagePreprocessorConfig::load(kVl, *ModelConfig::load(kVl).vision);
}

std::vector<uint8_t> file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string scratch_path(const std::string& name) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  return (std::filesystem::temp_directory_path() /
          ("tightfit-img-" + std::string(info->name()) + "-" + std::to_string(::getpid()) + "-" +
           name))
      .string();
}

TEST(ImagePreprocessorConfig, ReadsTheFixtureAndTheRealModel) {
  const ImagePreprocessorConfig c = vl_config();
  EXPECT_EQ(c.min_pixels, 4096);
  EXPECT_EQ(c.max_pixels, 16777216);
  EXPECT_EQ(c.factor(), 32);
  EXPECT_EQ(c.mean[1], 0.5);
  const std::string real = kData + "/configs/qwen3.5-35b-a3b";
  const ImagePreprocessorConfig r =
      ImagePreprocessorConfig::load(real, *ModelConfig::load(real).vision);
  EXPECT_EQ(r.min_pixels, 65536);
  EXPECT_EQ(r.temporal_patch_size, 2);
}

TEST(ImagePreprocessorConfig, RejectsValuesThatContradictTheModel) {
  const std::string dir = scratch_path("pp");
  std::filesystem::create_directories(dir);
  VisionConfig v;
  std::ofstream(dir + "/preprocessor_config.json") << R"({"patch_size": 14})";
  EXPECT_THROW(ImagePreprocessorConfig::load(dir, v), std::runtime_error);
  std::ofstream(dir + "/preprocessor_config.json") << R"({"size": {"shortest_edge": -3}})";
  EXPECT_THROW(ImagePreprocessorConfig::load(dir, v), std::runtime_error);
  std::ofstream(dir + "/preprocessor_config.json") << "{not json";
  EXPECT_THROW(ImagePreprocessorConfig::load(dir, v), std::runtime_error);
  std::ofstream(dir + "/preprocessor_config.json") << R"({"min_pixels": 100, "max_pixels": 50})";
  EXPECT_THROW(ImagePreprocessorConfig::load(dir, v), std::runtime_error);
  std::filesystem::remove_all(dir);
}

TEST(SmartResize, FollowsTheProcessorRules) {
  // Expected sizes from the shared numpy reference's smart_resize (Python round / floor / ceil).
  EXPECT_EQ(smart_resize(768, 1024, 32, 65536, 16777216), (ResizeTarget{768, 1024}));
  EXPECT_EQ(smart_resize(64, 64, 32, 65536, 16777216), (ResizeTarget{256, 256}));     // up
  EXPECT_EQ(smart_resize(6000, 8000, 32, 65536, 16777216), (ResizeTarget{3520, 4704}));  // down
  EXPECT_EQ(smart_resize(80, 112, 32, 1, 16777216), (ResizeTarget{64, 128}));  // 2.5, 3.5: even
  EXPECT_EQ(smart_resize(1, 200, 32, 65536, 16777216), (ResizeTarget{32, 3648}));
  EXPECT_EQ(smart_resize(30, 40, 32, 4096, 16777216), (ResizeTarget{64, 96}));
  EXPECT_EQ(smart_resize(333, 777, 32, 65536, 200000), (ResizeTarget{288, 672}));
}

TEST(SmartResize, RejectsExtremeAspectRatiosAndEmptyResults) {
  EXPECT_THROW(smart_resize(1, 201, 32, 65536, 16777216), std::invalid_argument);
  EXPECT_THROW(smart_resize(4000, 19, 32, 65536, 16777216), std::invalid_argument);
  EXPECT_THROW(smart_resize(8, 8, 32, 0, 16777216), std::invalid_argument);  // rounds to 0
  EXPECT_THROW(smart_resize(0, 8, 32, 65536, 16777216), std::invalid_argument);
}

TEST(ResizeBicubic, MatchesPillowExactly) {
  const auto cases = nlohmann::json::parse(std::ifstream(kData + "/image-resize/cases.json"));
  ASSERT_GE(cases["cases"].size(), 4u);
  for (const auto& [name, c] : cases["cases"].items()) {
    const RgbImage src = load_image_file(kData + "/image-resize/" + name + ".png");
    const RgbImage got = resize_bicubic(src, c["width"], c["height"]);
    const NpyArray want = read_npy(kData + "/image-resize/" + name + ".npy");
    ASSERT_EQ(want.shape, (std::vector<int64_t>{got.height, got.width, 3})) << name;
    int64_t differing = 0;
    for (size_t i = 0; i < got.pixels.size(); ++i) differing += got.pixels[i] != want.data[i];
    EXPECT_EQ(differing, 0) << name;
  }
}

TEST(ResizeBicubic, SameSizeIsTheIdentity) {
  const RgbImage src = load_image_file(kVl + "/img64x64.png");
  EXPECT_EQ(resize_bicubic(src, 64, 64).pixels, src.pixels);
  EXPECT_THROW(resize_bicubic(src, 0, 64), std::invalid_argument);
}

TEST(PreprocessImage, FixtureImagesGiveTheReferencePixelValues) {
  const ImagePreprocessorConfig c = vl_config();
  for (const auto& [name, grid] : {std::pair{"img64x64", ImageGrid{1, 4, 4}},
                                   std::pair{"img96x64", ImageGrid{1, 4, 6}}}) {
    const ImagePatches p = preprocess_image(load_image_file(kVl + "/" + name + ".png"), c);
    EXPECT_EQ(p.grid, grid) << name;
    const NpyArray ref = read_npy(kVl + "/pixel_values_" + name + ".npy");
    ASSERT_EQ(ref.shape, (std::vector<int64_t>{grid.patches(), 1536})) << name;
    ASSERT_EQ(p.values.size(), ref.data.size());
    double worst = 0;
    for (size_t i = 0; i < ref.data.size(); ++i)
      worst = std::max(worst, std::fabs(static_cast<double>(p.values[i]) - ref.data[i]));
    // (u/255 − 0.5)/0.5 rounded once to float32 on both sides.
    EXPECT_LE(worst, 1e-7) << name;
  }
}

TEST(PreprocessImage, ResizesFirstAndPatchifiesInMergeBlockOrder) {
  // 100×75 is resized to 96×64 (4 × 6 patches); the values are the Pillow-resized pixels.
  const ImagePatches p =
      preprocess_image(load_image_file(kData + "/image-resize/down_100x75_to_96x64.png"), vl_config());
  EXPECT_EQ(p.grid, (ImageGrid{1, 4, 6}));
  const NpyArray px = read_npy(kData + "/image-resize/down_100x75_to_96x64.npy");  // [64][96][3]
  const std::vector<PatchCoord> order = merge_block_order(4, 6, 2);
  for (size_t k = 0; k < order.size(); ++k) {
    // patch k, channel c, temporal t, row r, col q → pixel (16·row + r, 16·col + q)
    for (int c = 0; c < 3; ++c)
      for (int t = 0; t < 2; ++t)
        for (int r : {0, 7, 15})
          for (int q : {0, 9, 15}) {
            const int64_t y = order[k].row * 16 + r, x = order[k].col * 16 + q;
            const float u = px.data[(y * 96 + x) * 3 + c];
            EXPECT_FLOAT_EQ(p.values[k * 1536 + c * 512 + t * 256 + r * 16 + q],
                            static_cast<float>((u / 255.0 - 0.5) / 0.5));
          }
  }
  EXPECT_THROW(preprocess_image(RgbImage{400, 1, std::vector<uint8_t>(1200)}, vl_config()),
               std::invalid_argument);  // aspect ratio 400
}

TEST(ImageFile, ErrorsNameTheFile) {
  try {
    load_image_file("/no/such/cat.png");
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("/no/such/cat.png"), std::string::npos);
  }
  std::vector<uint8_t> png = file_bytes(kVl + "/img64x64.png");
  const std::vector<uint8_t> truncated(png.begin(), png.begin() + png.size() / 2);
  EXPECT_THROW(decode_image(truncated, "half.png"), std::runtime_error);
  std::vector<uint8_t> garbage(png.size(), 0x5a);
  EXPECT_THROW(decode_image(garbage, "garbage.png"), std::runtime_error);
  EXPECT_THROW(decode_image({}, "empty.png"), std::runtime_error);
}

TEST(ImageFile, RefusesHugeImagesFromTheHeader) {
  // A PNG header claiming 17000 × 17000 pixels (more than kMaxImagePixels) and no pixel data.
  const std::vector<uint8_t> png = test::png_header_only(17000, 17000);
  try {
    decode_image(png, "huge.png");
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("too large"), std::string::npos) << e.what();
  }
}

TEST(ImageFile, GreyAndTransparentImagesBecomeRgb) {
  const std::string grey = scratch_path("grey.png"), rgba = scratch_path("rgba.png");
  const uint8_t g[2] = {10, 200};
  ASSERT_TRUE(stbi_write_png(grey.c_str(), 2, 1, 1, g, 2));
  const uint8_t a[8] = {255, 0, 0, 0, 10, 20, 30, 255};  // transparent red, opaque colour
  ASSERT_TRUE(stbi_write_png(rgba.c_str(), 2, 1, 4, a, 8));
  const RgbImage gi = load_image_file(grey), ai = load_image_file(rgba);
  EXPECT_EQ(gi.pixels, (std::vector<uint8_t>{10, 10, 10, 200, 200, 200}));
  EXPECT_EQ(ai.pixels, (std::vector<uint8_t>{255, 255, 255, 10, 20, 30}));  // over white
  std::filesystem::remove(grey);
  std::filesystem::remove(rgba);
}

}  // namespace
}  // namespace tf
