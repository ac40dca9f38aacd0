// Decoding PNG (libpng) and JPEG (libjpeg-turbo) into 8-bit RGB: every layout of
// tests/data/image-decode decodes to the pixels written beside it (scripts/make_image_decode_cases.py:
// PNG from the specification and transformers' convert_to_rgb, JPEG as Pillow decodes it).
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/image_file.h"
#include "storage/npy.h"

namespace tf {
namespace {

const std::string kDir = std::string(TIGHTFIT_TEST_DATA) + "/image-decode/";

TEST(ImageDecode, EveryLayoutDecodesToItsReferencePixels) {
  const auto cases = nlohmann::json::parse(std::ifstream(kDir + "cases.json"));
  ASSERT_EQ(cases["cases"].size(), 7u);
  for (const auto& [name, c] : cases["cases"].items()) {
    const RgbImage got = load_image_file(kDir + c["file"].get<std::string>());
    const NpyArray want = read_npy(kDir + name + ".npy");
    ASSERT_EQ(want.shape, (std::vector<int64_t>{c["height"], c["width"], 3})) << name;
    ASSERT_EQ(got.width, c["width"].get<int64_t>()) << name;
    ASSERT_EQ(got.height, c["height"].get<int64_t>()) << name;
    int64_t differing = 0;
    for (size_t i = 0; i < got.pixels.size(); ++i) differing += got.pixels[i] != want.data[i];
    EXPECT_EQ(differing, 0) << name;
  }
}

}  // namespace
}  // namespace tf
