// Reading an image file into 8-bit RGB (spec §4.1 "convert to RGB"): PNG through libpng and JPEG
// through libjpeg-turbo (the formats images reach a chat model in; every other decoder is left
// out because each is attack surface). Transparent pixels are composited over white, as
// transformers' convert_to_rgb does; grey images are replicated to three channels.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace tf {

struct RgbImage {
  int64_t width = 0, height = 0;
  std::vector<uint8_t> pixels;  // [height][width][3], row-major

  uint8_t at(int64_t row, int64_t col, int channel) const {
    return pixels[(row * width + col) * 3 + channel];
  }
};

// Images with more pixels than this are refused before they are decoded: 8192 × 8192, four times
// the Qwen processors' max_pixels (ImagePreprocessorConfig's default, 16.7M; the preprocessor
// asserts the relation), is 256 MiB decoded as RGBA plus 192 MiB of RGB; the model would shrink
// it to at most max_pixels anyway.
inline constexpr int64_t kMaxImagePixels = int64_t{1} << 26;

// Decodes `path`. Throws std::runtime_error naming the file when it cannot be read, is not a PNG
// or JPEG (or is corrupt / truncated), has more than kMaxImagePixels pixels, or its header
// claims more pixels than its size allows — all checked before anything is decoded.
RgbImage load_image_file(const std::string& path);
// The same from bytes in memory; `name` is used in error messages.
RgbImage decode_image(std::span<const uint8_t> bytes, const std::string& name);

}  // namespace tf
