// Hostile image files (issue 20): formats we do not decode, and headers that claim more pixels
// than the file can hold, fail before any decoding or allocation.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/image_file.h"

namespace tf {
namespace {

std::string error_of(const std::vector<uint8_t>& bytes) {
  try {
    decode_image(bytes, "x.img");
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "(decoded)";
}

std::vector<uint8_t> bytes_of(const std::string& s) { return {s.begin(), s.end()}; }

// A PNG signature and IHDR chunk for a w × h RGB image, with no pixel data after it.
std::vector<uint8_t> png_header(uint32_t w, uint32_t h) {
  std::vector<uint8_t> png = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R'};
  for (uint32_t v : {w, h})
    for (int s = 24; s >= 0; s -= 8) png.push_back(static_cast<uint8_t>(v >> s));
  for (uint8_t b : {8, 2, 0, 0, 0, 0, 0, 0, 0}) png.push_back(b);
  return png;
}

TEST(ImageHostile, OnlyPngAndJpegAreDecoded) {
  // The 21-byte 16-bit PPM (stb read out of bounds) and 26-byte TGA declaring
  // 3083 × 3597 pixels (stb "decoded" it, zero-filled).
  std::vector<uint8_t> ppm = bytes_of("P6\n1 1\n65535\n");
  ppm.resize(21, 0xAB);
  std::vector<uint8_t> tga = {0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0B, 0x0C, 0x0D, 0x0E, 24, 0};
  tga.resize(26, 0);
  for (const auto& bytes : {ppm, tga, bytes_of("BM\x36\0\0\0\0\0\0\0\x36\0\0\0"), bytes_of("GIF89a\x01\0\x01\0\0\0\0")}) {
    const std::string message = error_of(bytes);
    EXPECT_NE(message.find("not a PNG or JPEG file"), std::string::npos) << message;
  }
}

TEST(ImageHostile, HeaderClaimingMorePixelsThanTheFileHoldsIsRefused) {
  const std::string message = error_of(png_header(4000, 4000));  // under kMaxImagePixels, 33 bytes
  EXPECT_NE(message.find("more than a 33-byte file can hold"), std::string::npos) << message;
  EXPECT_NE(error_of(png_header(9000, 9000)).find("too large"), std::string::npos);
}

TEST(ImageHostile, RealImagesStillDecode) {
  const RgbImage image = load_image_file(std::string(TIGHTFIT_TEST_DATA) + "/tiny-qwen35moe-vl/img64x64.png");
  EXPECT_EQ(image.width, 64);
  EXPECT_EQ(image.height, 64);
}

}  // namespace
}  // namespace tf
