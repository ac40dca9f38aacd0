// The two resizing steps of the Qwen2-VL image processor (spec §4.1): choosing the size
// (smart resize) and resampling to it (bicubic).
//
// Which bicubic: the processor's default is bicubic with antialiasing. We reproduce Pillow's
// Image.resize(BICUBIC) — the slow transformers processor calls it, and torchvision's uint8
// antialiased bicubic (the fast processor on CPU) is a port of the same algorithm: the Keys
// cubic with a = −0.5, its support widened by the scale when shrinking, weights normalised per
// output pixel, a horizontal pass then a vertical pass, each rounded back to 8 bits, with
// Pillow's 22-bit fixed-point weights. tests/runtime check it bit for bit against Pillow 9.4;
// torchvision's fixed-point weights have fewer bits and may differ by 1 on rare pixels.
#pragma once

#include <cstdint>

#include "runtime/image_file.h"

namespace tf {

struct ResizeTarget {
  int64_t height = 0, width = 0;
  bool operator==(const ResizeTarget&) const = default;
};

// Spec §4.1: both sides multiples of `factor` (patch · merge), the pixel count within
// [min_pixels, max_pixels], the aspect ratio kept as well as that allows; Python round (ties to
// even) for the first guess. Throws std::invalid_argument when the aspect ratio is above 200 or
// the result would be empty (a side rounds to 0, e.g. with min_pixels = 0).
ResizeTarget smart_resize(int64_t height, int64_t width, int64_t factor, int64_t min_pixels,
                          int64_t max_pixels);

// Pillow-exact bicubic resampling of an RGB image to width × height (both ≥ 1). Returns the
// image unchanged when the size already matches.
RgbImage resize_bicubic(const RgbImage& image, int64_t width, int64_t height);

}  // namespace tf
