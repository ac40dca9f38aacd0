#include "cli/image_flags.h"

#include <algorithm>
#include <chrono>
#include <stdexcept>

#include "cli/commands.h"
#include "runtime/image_resize.h"

namespace tf::cli {

void add_image_flags(CLI::App* cmd, ImageFlags& f) {
  // Several files after one flag (mlx_vlm's way) or the flag repeated.
  cmd->add_option("--image", f.files,
                  "Image files (PNG or JPEG) placed before the text of the "
                  "(first) message, in order (vision-language models)");
  cmd->add_option_function<int64_t>(
      "--max-pixels", [&f](const int64_t& n) { f.max_pixels = n; },
      "Most pixels an image is resized to (lowers preprocessor_config.json's max_pixels; fewer "
      "pixels, fewer prompt tokens, faster vision encoding)");
  cmd->add_option("--resize-shape", f.resize_shape,
                  "Resize every image to HEIGHT [WIDTH] pixels first (one value: a square)")
      ->expected(1, 2);
}

std::vector<RgbImage> read_images(const ImageFlags& f) {
  for (int64_t side : f.resize_shape)
    if (side <= 0) throw UsageError("--resize-shape: sides must be positive, got " + std::to_string(side));
  if (f.max_pixels && *f.max_pixels <= 0)
    throw UsageError("--max-pixels must be positive, got " + std::to_string(*f.max_pixels));
  std::vector<RgbImage> images;
  for (const std::string& path : f.files) {
    try {
      images.push_back(load_image_file(path));
    } catch (const std::runtime_error& e) {
      throw BadInputError(std::string("--image: ") + e.what());
    }
    if (!f.resize_shape.empty()) {
      const int64_t height = f.resize_shape[0], width = f.resize_shape.back();
      images.back() = resize_bicubic(images.back(), width, height);
    }
  }
  return images;
}

}  // namespace tf::cli
