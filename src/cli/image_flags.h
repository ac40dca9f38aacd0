// The image flags of `generate` and `chat` (mlx_vlm.generate's spellings): --image a.png b.png
// (or repeated), --max-pixels N, --resize-shape H [W], and reading the files (encoding them for a
// Session: cli/session_flags.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "runtime/image_file.h"

namespace tf::cli {

struct ImageFlags {
  std::vector<std::string> files;   // --image
  std::optional<int64_t> max_pixels;  // --max-pixels
  std::vector<int64_t> resize_shape;  // --resize-shape H [W]
};

void add_image_flags(CLI::App* cmd, ImageFlags& flags);

// The files read (and resized to --resize-shape), before the model loads so a bad file is
// reported at once. A file that cannot be read or decoded is a BadInputError naming it.
std::vector<RgbImage> read_images(const ImageFlags& flags);

}  // namespace tf::cli
