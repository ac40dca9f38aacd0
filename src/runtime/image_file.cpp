#include "runtime/image_file.h"

#include <algorithm>
#include <cstring>
#include <initializer_list>
#include <fstream>
#include <iterator>
#include <memory>
#include <stdexcept>

// Our own copy of stb_image's decoders, PNG and JPEG only, with internal linkage: Debian's
// libstb carries every format (its PNM, TGA, BMP, GIF, PSD, HDR and PIC readers have had
// out-of-bounds reads and writes), and a server decodes images from anyone.
#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#define STBI_NO_STDIO
#include <stb_image.h>

namespace tf {

namespace {

[[noreturn]] void fail(const std::string& name, const std::string& what) {
  throw std::runtime_error("image " + name + ": " + what);
}

bool starts_with(std::span<const uint8_t> bytes, std::initializer_list<uint8_t> prefix) {
  return bytes.size() >= prefix.size() && std::equal(prefix.begin(), prefix.end(), bytes.begin());
}

// The most pixels a file of n bytes can honestly hold. PNG: deflate expands at most 1032:1 and a
// byte holds at most 8 one-bit pixels; JPEG stays far below that. A header that claims more is
// lying (a 26-byte file declaring 3083 x 3597 pixels), and decoding it would allocate for nothing.
constexpr int64_t kMaxPixelsPerFileByte = 8 * 1032;

}  // namespace

RgbImage decode_image(std::span<const uint8_t> bytes, const std::string& name) {
  if (bytes.empty()) fail(name, "the file is empty");
  const bool png = starts_with(bytes, {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
  const bool jpeg = starts_with(bytes, {0xFF, 0xD8, 0xFF});
  if (!png && !jpeg) fail(name, "not a PNG or JPEG file (tightfit reads only these two formats: convert it first)");
  if (bytes.size() > static_cast<size_t>(INT32_MAX)) fail(name, "the file is larger than 2 GiB");
  const auto* data = reinterpret_cast<const stbi_uc*>(bytes.data());
  const int size = static_cast<int>(bytes.size());
  int w = 0, h = 0, channels = 0;
  // The header first: refuse huge images before allocating for them.
  if (!stbi_info_from_memory(data, size, &w, &h, &channels))
    fail(name, std::string("not a readable PNG or JPEG image: ") + stbi_failure_reason());
  if (w <= 0 || h <= 0) fail(name, "has no pixels");
  if (static_cast<int64_t>(w) * h > kMaxImagePixels)
    fail(name, std::to_string(w) + "×" + std::to_string(h) + " is too large (more than " +
                   std::to_string(kMaxImagePixels) + " pixels): scale it down first");
  if (static_cast<int64_t>(w) * h > static_cast<int64_t>(bytes.size()) * kMaxPixelsPerFileByte)
    fail(name, "the header claims " + std::to_string(w) + "×" + std::to_string(h) + " pixels, more than a " +
                   std::to_string(bytes.size()) + "-byte file can hold (corrupt or hand-crafted)");

  std::unique_ptr<stbi_uc, void (*)(void*)> rgba(
      stbi_load_from_memory(data, size, &w, &h, &channels, 4), stbi_image_free);
  if (!rgba) fail(name, std::string("corrupt or truncated image: ") + stbi_failure_reason());

  RgbImage img;
  img.width = w;
  img.height = h;
  img.pixels.resize(static_cast<size_t>(w) * h * 3);
  const stbi_uc* src = rgba.get();
  uint8_t* dst = img.pixels.data();
  for (int64_t i = 0; i < static_cast<int64_t>(w) * h; ++i, src += 4, dst += 3) {
    const int a = src[3];
    for (int c = 0; c < 3; ++c) {
      // Over a white background, rounded: c·a/255 + 255·(1 − a/255).
      dst[c] = a == 255 ? src[c]
                        : static_cast<uint8_t>((src[c] * a + 255 * (255 - a) + 127) / 255);
    }
  }
  return img;
}

RgbImage load_image_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("image " + path + ": cannot open the file (does it exist?)");
  const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                   std::istreambuf_iterator<char>());
  return decode_image(bytes, path);
}

}  // namespace tf
