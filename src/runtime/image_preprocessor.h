// The Qwen2-VL image processor (spec §4.1–4.2): an RGB image in, the patch vectors the vision
// tower takes out — smart resize, bicubic resampling, rescale to [0, 1], normalise per
// channel, the frame repeated to fill the temporal patch, patches in 2×2 merge-block order,
// each vector ordered (channel, temporal, row, col).
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <vector>

#include "model/vision_positions.h"
#include "runtime/image_file.h"
#include "storage/model_config.h"

namespace tf {

struct ImagePreprocessorConfig {
  int64_t min_pixels = 65536;     // preprocessor_config.json size.shortest_edge (a pixel count)
  int64_t max_pixels = 16777216;  // size.longest_edge
  int64_t patch_size = 16;
  int64_t temporal_patch_size = 2;
  int64_t merge_size = 2;
  std::array<double, 3> mean{0.5, 0.5, 0.5};
  std::array<double, 3> stddev{0.5, 0.5, 0.5};  // image_std

  int64_t factor() const { return patch_size * merge_size; }

  // DIR/preprocessor_config.json (size.shortest_edge / longest_edge, or the older min_pixels /
  // max_pixels; patch, temporal and merge sizes; image_mean / image_std). Missing file or keys
  // take the values of `vision` and Qwen3.5's defaults (spec §1.4). Throws naming the file and
  // key when a value is malformed or disagrees with the vision config.
  static ImagePreprocessorConfig load(const std::filesystem::path& dir, const VisionConfig& vision);
};
// image_file.h refuses images past kMaxImagePixels before decoding: four times this default.
static_assert(kMaxImagePixels == 4 * ImagePreprocessorConfig{}.max_pixels);

struct ImagePatches {
  ImageGrid grid;              // (1, resized height / patch, resized width / patch)
  std::vector<float> values;   // [grid.patches()][3 · temporal · patch²]
  int64_t resized_width = 0, resized_height = 0;
};

// The smart-resized size of the image, resampled if it differs, normalised and patchified.
// Throws std::invalid_argument for an aspect ratio above 200 or an image that rounds to nothing.
ImagePatches preprocess_image(const RgbImage& image, const ImagePreprocessorConfig& config);

}  // namespace tf
