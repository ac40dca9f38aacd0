#include "runtime/image_resize.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

namespace tf {

ResizeTarget smart_resize(int64_t height, int64_t width, int64_t factor, int64_t min_pixels,
                          int64_t max_pixels) {
  const std::string size = std::to_string(width) + "×" + std::to_string(height);
  if (height <= 0 || width <= 0) throw std::invalid_argument("image " + size + " has no pixels");
  const double h = static_cast<double>(height), w = static_cast<double>(width);
  const double f = static_cast<double>(factor);
  if (std::max(h, w) / std::min(h, w) > 200)
    throw std::invalid_argument("image " + size +
                                " has an aspect ratio above 200 (the model's limit): crop it");
  // Python's round() on the quotient: ties to even, as nearbyint in the default rounding mode.
  int64_t hb = static_cast<int64_t>(std::nearbyint(h / f)) * factor;
  int64_t wb = static_cast<int64_t>(std::nearbyint(w / f)) * factor;
  if (hb * wb > max_pixels) {
    const double beta = std::sqrt(h * w / static_cast<double>(max_pixels));
    hb = std::max(factor, static_cast<int64_t>(std::floor(h / beta / f)) * factor);
    wb = std::max(factor, static_cast<int64_t>(std::floor(w / beta / f)) * factor);
  } else if (hb * wb < min_pixels) {
    const double beta = std::sqrt(static_cast<double>(min_pixels) / (h * w));
    hb = static_cast<int64_t>(std::ceil(h * beta / f)) * factor;
    wb = static_cast<int64_t>(std::ceil(w * beta / f)) * factor;
  }
  if (hb <= 0 || wb <= 0)
    throw std::invalid_argument("image " + size + " is too small: it rounds to no " +
                                std::to_string(factor) + "-pixel block (min_pixels " +
                                std::to_string(min_pixels) + ")");
  return {hb, wb};
}

namespace {

constexpr int kPrecisionBits = 32 - 8 - 2;  // Pillow's fixed-point weights for 8-bit images

// Keys cubic convolution kernel with a = −0.5 (Pillow's BICUBIC).
double bicubic(double x) {
  constexpr double a = -0.5;
  x = std::fabs(x);
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
  if (x < 2.0) return (((x - 5.0) * x + 8.0) * x - 4.0) * a;
  return 0.0;
}

// Source span and fixed-point weights of every output pixel along one axis.
struct AxisWeights {
  int64_t taps = 0;
  std::vector<int64_t> first, count;
  std::vector<int32_t> weights;  // [out][taps]
};

AxisWeights axis_weights(int64_t in_size, int64_t out_size) {
  const double scale = static_cast<double>(in_size) / static_cast<double>(out_size);
  const double filter_scale = std::max(scale, 1.0);  // antialias: widen the kernel when shrinking
  const double support = 2.0 * filter_scale;
  AxisWeights a;
  a.taps = static_cast<int64_t>(std::ceil(support)) * 2 + 1;
  a.first.resize(out_size);
  a.count.resize(out_size);
  a.weights.assign(out_size * a.taps, 0);
  std::vector<double> k(a.taps);
  const double ss = 1.0 / filter_scale;
  for (int64_t o = 0; o < out_size; ++o) {
    const double center = (static_cast<double>(o) + 0.5) * scale;
    // C casts truncate toward zero, as in Pillow.
    const int64_t lo = std::max<int64_t>(static_cast<int64_t>(center - support + 0.5), 0);
    const int64_t hi = std::min<int64_t>(static_cast<int64_t>(center + support + 0.5), in_size);
    const int64_t n = hi - lo;
    double total = 0;
    for (int64_t x = 0; x < n; ++x) {
      k[x] = bicubic((static_cast<double>(x + lo) - center + 0.5) * ss);
      total += k[x];
    }
    for (int64_t x = 0; x < n; ++x) {
      const double v = total != 0.0 ? k[x] / total : k[x];
      const double fixed = v * static_cast<double>(1 << kPrecisionBits);
      a.weights[o * a.taps + x] = static_cast<int32_t>(v < 0 ? fixed - 0.5 : fixed + 0.5);
    }
    a.first[o] = lo;
    a.count[o] = n;
  }
  return a;
}

uint8_t clip8(int64_t acc) {
  const int64_t v = acc >> kPrecisionBits;  // arithmetic shift: floor, as Pillow's
  return static_cast<uint8_t>(std::clamp<int64_t>(v, 0, 255));
}

// One pass along rows (horizontal) or columns (vertical) of an interleaved RGB buffer.
RgbImage resample_horizontal(const RgbImage& in, int64_t out_w) {
  const AxisWeights a = axis_weights(in.width, out_w);
  RgbImage out{out_w, in.height, std::vector<uint8_t>(out_w * in.height * 3)};
  for (int64_t y = 0; y < in.height; ++y)
    for (int64_t x = 0; x < out_w; ++x)
      for (int c = 0; c < 3; ++c) {
        int64_t acc = int64_t{1} << (kPrecisionBits - 1);
        for (int64_t t = 0; t < a.count[x]; ++t)
          acc += static_cast<int64_t>(in.at(y, a.first[x] + t, c)) * a.weights[x * a.taps + t];
        out.pixels[(y * out_w + x) * 3 + c] = clip8(acc);
      }
  return out;
}

RgbImage resample_vertical(const RgbImage& in, int64_t out_h) {
  const AxisWeights a = axis_weights(in.height, out_h);
  RgbImage out{in.width, out_h, std::vector<uint8_t>(in.width * out_h * 3)};
  for (int64_t y = 0; y < out_h; ++y)
    for (int64_t x = 0; x < in.width; ++x)
      for (int c = 0; c < 3; ++c) {
        int64_t acc = int64_t{1} << (kPrecisionBits - 1);
        for (int64_t t = 0; t < a.count[y]; ++t)
          acc += static_cast<int64_t>(in.at(a.first[y] + t, x, c)) * a.weights[y * a.taps + t];
        out.pixels[(y * in.width + x) * 3 + c] = clip8(acc);
      }
  return out;
}

}  // namespace

RgbImage resize_bicubic(const RgbImage& image, int64_t width, int64_t height) {
  if (width <= 0 || height <= 0)
    throw std::invalid_argument("resize_bicubic: target size must be positive");
  RgbImage out = image;
  if (width != image.width) out = resample_horizontal(out, width);  // Pillow: horizontal first
  if (height != image.height) out = resample_vertical(out, height);
  return out;
}

}  // namespace tf
