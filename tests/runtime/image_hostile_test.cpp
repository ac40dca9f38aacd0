// Hostile image files (issue 20): formats we do not decode, and headers that claim more pixels
// than the file can hold, fail before any decoding or allocation.
#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "runtime/image_file.h"
#include "runtime/png_test_header.h"

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

std::string test_read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<uint8_t> png_header(uint32_t w, uint32_t h) { return test::png_header_only(w, h); }

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
  EXPECT_EQ(png_header(1, 1).size(), 33u);
  EXPECT_NE(message.find("more than a 33-byte file can hold"), std::string::npos) << message;
  EXPECT_NE(error_of(png_header(9000, 9000)).find("too large"), std::string::npos);
}

TEST(ImageHostile, JpegWithHuffmanCountsPast256IsAnError) {
  // Sixteen code-length counts that sum to 2040 (a table holds at most 256 symbols): stb_image
  // 2.27, which tightfit used before, writes past its 257-entry size table on this file.
  const std::string bytes = test_read(std::string(TIGHTFIT_TEST_DATA) + "/../fuzz/corpus/image/jpeg_huffman_counts_sum_2040");
  ASSERT_GT(bytes.size(), 2000u);
  const std::string message = error_of(bytes_of(bytes));
  EXPECT_NE(message.find("x.img: not a readable JPEG image: Bogus Huffman table definition"), std::string::npos)
      << message;
}

TEST(ImageHostile, TruncatedFilesAreErrorsNotGreyPixels) {
  for (const std::string name : {"rgb_420.jpg", "palette_trns.png", "rgba_interlaced.png"}) {
    const std::string bytes = test_read(std::string(TIGHTFIT_TEST_DATA) + "/image-decode/" + name);
    ASSERT_GT(bytes.size(), 100u) << name;
    const std::string message = error_of(bytes_of(bytes.substr(0, bytes.size() * 2 / 3)));
    EXPECT_NE(message.find("corrupt or truncated"), std::string::npos) << name << ": " << message;
  }
}

TEST(ImageHostile, RealImagesStillDecode) {
  const RgbImage image = load_image_file(std::string(TIGHTFIT_TEST_DATA) + "/tiny-qwen35moe-vl/img64x64.png");
  EXPECT_EQ(image.width, 64);
  EXPECT_EQ(image.height, 64);
}

}  // namespace
}  // namespace tf
