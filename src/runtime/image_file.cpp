#include "runtime/image_file.h"

#include <png.h>
#include <turbojpeg.h>

#include <algorithm>
#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <memory>
#include <stdexcept>

// PNG through libpng and JPEG through libjpeg-turbo (its TurboJPEG API), both from Debian: the
// decoders every browser and PIL use, fuzzed continuously upstream (OSS-Fuzz). stb_image, which
// tightfit used before, writes out of bounds on a JPEG whose Huffman table counts sum past 256
// (stb 2.27, Debian's; fixed upstream in 2.28), and its other readers have had similar bugs.
// PIL decodes JPEG with the same libjpeg-turbo and default settings (accurate integer IDCT,
// fancy upsampling), so images reach the model as transformers' processor sees them.

namespace tf {

namespace {

[[noreturn]] void fail(const std::string& name, const std::string& what) {
  throw std::runtime_error("image " + name + ": " + what);
}

bool starts_with(std::span<const uint8_t> bytes, std::initializer_list<uint8_t> prefix) {
  return bytes.size() >= prefix.size() && std::equal(prefix.begin(), prefix.end(), bytes.begin());
}

// The most pixels a file of n bytes can honestly hold. PNG: deflate expands at most 1032:1 and a
// byte holds at most 8 one-bit pixels; JPEG stays far below that (≥ 2 bits per 8×8 block). A
// header that claims more is lying (a 26-byte file declaring 3083 × 3597 pixels), and decoding it
// would allocate for nothing.
constexpr int64_t kMaxPixelsPerFileByte = 8 * 1032;

// Refuses a width × height before anything is allocated for the pixels.
void check_size(const std::string& name, int64_t w, int64_t h, size_t file_bytes) {
  if (w <= 0 || h <= 0) fail(name, "has no pixels");
  if (w > kMaxImagePixels || h > kMaxImagePixels || w * h > kMaxImagePixels)
    fail(name, std::to_string(w) + "×" + std::to_string(h) + " is too large (more than " +
                   std::to_string(kMaxImagePixels) + " pixels): scale it down first");
  if (w * h > static_cast<int64_t>(file_bytes) * kMaxPixelsPerFileByte)
    fail(name, "the header claims " + std::to_string(w) + "×" + std::to_string(h) + " pixels, more than a " +
                   std::to_string(file_bytes) + "-byte file can hold (corrupt or hand-crafted)");
}

// ---- PNG (libpng) ----
// libpng reports errors by longjmp: the two functions that call it (png_header, png_pixels)
// hold no C++ objects across the setjmp, and PngReader's destructor frees libpng's state.

struct PngInput {
  std::span<const uint8_t> bytes;
  size_t at = 0;
  char message[200] = "";
};

void png_on_error(png_structp png, png_const_charp message) {
  auto* in = static_cast<PngInput*>(png_get_error_ptr(png));
  std::snprintf(in->message, sizeof in->message, "%s", message);
  png_longjmp(png, 1);
}

void png_on_warning(png_structp, png_const_charp) {}  // e.g. a bad ancillary chunk: not fatal

void png_read_bytes(png_structp png, png_bytep out, size_t n) {
  auto* in = static_cast<PngInput*>(png_get_io_ptr(png));
  if (n > in->bytes.size() - in->at) png_error(png, "the file is truncated");
  std::memcpy(out, in->bytes.data() + in->at, n);
  in->at += n;
}

class PngReader {
 public:
  explicit PngReader(std::span<const uint8_t> bytes) {
    in_.bytes = bytes;
    png_ = png_create_read_struct(PNG_LIBPNG_VER_STRING, &in_, png_on_error, png_on_warning);
    if (png_) info_ = png_create_info_struct(png_);
    if (!png_ || !info_) throw std::bad_alloc();
    png_set_read_fn(png_, &in_, png_read_bytes);
    // Text, ICC and other chunks: at most 1 MiB each and 1000 of them (libpng's defaults are
    // 8 MB and unlimited); nothing here reads them.
    png_set_chunk_malloc_max(png_, 1 << 20);
    png_set_chunk_cache_max(png_, 1000);
  }
  ~PngReader() { png_destroy_read_struct(&png_, &info_, nullptr); }
  PngReader(const PngReader&) = delete;
  PngReader& operator=(const PngReader&) = delete;

  png_structp png() { return png_; }
  png_infop info() { return info_; }
  const char* message() const { return in_.message; }

 private:
  PngInput in_;
  png_structp png_ = nullptr;
  png_infop info_ = nullptr;
};

// Reads the chunks before the pixels and sets up 8-bit RGBA output: palettes and grey expanded,
// transparency (tRNS) as alpha, 16-bit samples cut to their high byte, no gamma correction
// (what PIL does). False on a libpng error.
bool png_header(png_structp png, png_infop info, png_uint_32* w, png_uint_32* h) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_read_info(png, info);
  *w = png_get_image_width(png, info);
  *h = png_get_image_height(png, info);
  const int color = png_get_color_type(png, info);
  png_set_expand(png);
  png_set_strip_16(png);
  if (color == PNG_COLOR_TYPE_GRAY || color == PNG_COLOR_TYPE_GRAY_ALPHA) png_set_gray_to_rgb(png);
  png_set_filler(png, 0xFF, PNG_FILLER_AFTER);  // no-op when there is alpha
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  return png_get_rowbytes(png, info) == static_cast<size_t>(*w) * 4;
}

bool png_pixels(png_structp png, png_bytepp rows) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_read_image(png, rows);
  return true;
}

uint32_t big_endian_u32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}

RgbImage decode_png(std::span<const uint8_t> bytes, const std::string& name) {
  // IHDR is the first chunk (PNG spec §5.6), its width and height its first 8 bytes: checked
  // before libpng reads anything, so a file that is little more than a header is refused too.
  if (bytes.size() >= 24 && std::memcmp(bytes.data() + 12, "IHDR", 4) == 0)
    check_size(name, big_endian_u32(&bytes[16]), big_endian_u32(&bytes[20]), bytes.size());
  PngReader reader(bytes);
  png_uint_32 w = 0, h = 0;
  if (!png_header(reader.png(), reader.info(), &w, &h)) {
    if (*reader.message()) fail(name, std::string("not a readable PNG image: ") + reader.message());
    fail(name, "not a readable PNG image: unsupported pixel layout");
  }
  check_size(name, w, h, bytes.size());
  std::vector<uint8_t> rgba(static_cast<size_t>(w) * h * 4);
  std::vector<png_bytep> rows(h);
  for (png_uint_32 r = 0; r < h; ++r) rows[r] = rgba.data() + static_cast<size_t>(r) * w * 4;
  if (!png_pixels(reader.png(), rows.data()))
    fail(name, std::string("corrupt or truncated PNG image: ") + reader.message());

  RgbImage img;
  img.width = w;
  img.height = h;
  img.pixels.resize(static_cast<size_t>(w) * h * 3);
  const uint8_t* src = rgba.data();
  uint8_t* dst = img.pixels.data();
  for (int64_t i = 0; i < img.width * img.height; ++i, src += 4, dst += 3) {
    const int a = src[3];
    for (int c = 0; c < 3; ++c) {
      // Over a white background, rounded: c·a/255 + 255·(1 − a/255).
      dst[c] = a == 255 ? src[c] : static_cast<uint8_t>((src[c] * a + 255 * (255 - a) + 127) / 255);
    }
  }
  return img;
}

// ---- JPEG (libjpeg-turbo) ----

RgbImage decode_jpeg(std::span<const uint8_t> bytes, const std::string& name) {
  std::unique_ptr<void, int (*)(tjhandle)> tj(tjInitDecompress(), tjDestroy);
  if (!tj) throw std::bad_alloc();
  const unsigned long size = bytes.size();
  int w = 0, h = 0, subsampling = 0, colorspace = 0;
  if (tjDecompressHeader3(tj.get(), bytes.data(), size, &w, &h, &subsampling, &colorspace) != 0)
    fail(name, std::string("not a readable JPEG image: ") + tjGetErrorStr2(tj.get()));
  check_size(name, w, h, bytes.size());
  if (colorspace == TJCS_CMYK || colorspace == TJCS_YCCK)
    fail(name, "is a CMYK JPEG, which tightfit does not read: convert it to RGB first");
  RgbImage img;
  img.width = w;
  img.height = h;
  img.pixels.resize(static_cast<size_t>(w) * h * 3);
  // Warnings (corrupt data, a truncated file) are errors, and a progressive JPEG may have at
  // most 500 scans: each scan is a pass over the whole image, a denial of service in a tiny file.
  if (tjDecompress2(tj.get(), bytes.data(), size, img.pixels.data(), w, 0, h, TJPF_RGB,
                    TJFLAG_STOPONWARNING | TJFLAG_LIMITSCANS) != 0)
    fail(name, std::string("corrupt or truncated JPEG image: ") + tjGetErrorStr2(tj.get()));
  return img;
}

}  // namespace

RgbImage decode_image(std::span<const uint8_t> bytes, const std::string& name) {
  if (bytes.empty()) fail(name, "the file is empty");
  if (starts_with(bytes, {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'})) return decode_png(bytes, name);
  if (starts_with(bytes, {0xFF, 0xD8, 0xFF})) return decode_jpeg(bytes, name);
  fail(name, "not a PNG or JPEG file (tightfit reads only these two formats: convert it first)");
}

RgbImage load_image_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("image " + path + ": cannot open the file (does it exist?)");
  const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                   std::istreambuf_iterator<char>());
  return decode_image(bytes, path);
}

}  // namespace tf
