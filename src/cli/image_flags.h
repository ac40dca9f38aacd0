// The image flags of `generate` and `chat` (mlx_vlm.generate's spellings): --image a.png b.png
// (or repeated), --max-pixels N, --resize-shape H [W]; reading the files, and encoding them with
// the vision tower only after the prompt is known to fit the context.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "runtime/image_file.h"
#include "runtime/image_preprocessor.h"
#include "runtime/loaded_model.h"
#include "runtime/multimodal_prompt.h"

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

// The model's processor settings (preprocessor_config.json) with --max-pixels applied; the
// model must have a vision tower.
ImagePreprocessorConfig processor_config(const ImageFlags& flags, const LoadedModel& model);

struct EncodedImages {
  std::vector<ImageFeatures> features;
  double seconds = 0;  // in the vision tower
};

// Checks that `text_tokens` (one placeholder per image) plus the images' tokens fit the
// context — from the resized sizes, before any vision work — then encodes the images. Bad
// input (a text-only model, an image the processor rejects, a prompt too long) is a
// BadInputError naming the file. `images` are read_images(flags).
EncodedImages encode_images(const LoadedModel& model, const ImageFlags& flags,
                            const std::vector<RgbImage>& images, int64_t text_tokens);

}  // namespace tf::cli
