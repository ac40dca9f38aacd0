#include "runtime/image_preprocessor.h"

#include <fstream>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "base/json_read.h"
#include "runtime/image_resize.h"

namespace tf {

namespace {

using nlohmann::json;

int64_t positive_int(const json& j, const std::string& key, int64_t def, const std::string& file) {
  if (!j.contains(key) || j.at(key).is_null()) return def;
  const json& v = j.at(key);
  if (!v.is_number_integer() || v.get<int64_t>() <= 0)
    throw std::runtime_error(file + ": \"" + key + "\" must be a positive integer");
  return v.get<int64_t>();
}

std::array<double, 3> channel_triple(const json& j, const std::string& key,
                                     std::array<double, 3> def, const std::string& file) {
  if (!j.contains(key) || j.at(key).is_null()) return def;
  const json& v = j.at(key);
  std::array<double, 3> out{};
  if (v.is_number()) {
    out.fill(v.get<double>());
  } else if (v.is_array() && v.size() == 3 && v[0].is_number() && v[1].is_number() &&
             v[2].is_number()) {
    for (int c = 0; c < 3; ++c) out[c] = v[c].get<double>();
  } else {
    throw std::runtime_error(file + ": \"" + key + "\" must be a number or a list of 3 numbers");
  }
  return out;
}

}  // namespace

ImagePreprocessorConfig ImagePreprocessorConfig::load(const std::filesystem::path& dir,
                                                      const VisionConfig& vision) {
  ImagePreprocessorConfig c;
  c.patch_size = vision.patch_size;
  c.temporal_patch_size = vision.temporal_patch_size;
  c.merge_size = vision.spatial_merge_size;
  const std::filesystem::path path = dir / "preprocessor_config.json";
  const std::string file = path.string();
  if (!std::ifstream(path)) return c;  // the processor's own defaults (spec §1.4)
  const json j = read_json_file(path);
  if (!j.is_object()) throw std::runtime_error(file + ": must be a JSON object");
  // Qwen2-VL's `size` holds pixel counts despite the names (spec §1.4); older files say
  // min_pixels / max_pixels at the top level.
  c.min_pixels = positive_int(j, "min_pixels", c.min_pixels, file);
  c.max_pixels = positive_int(j, "max_pixels", c.max_pixels, file);
  if (j.contains("size") && j["size"].is_object()) {
    c.min_pixels = positive_int(j["size"], "shortest_edge", c.min_pixels, file + ": size");
    c.max_pixels = positive_int(j["size"], "longest_edge", c.max_pixels, file + ": size");
  }
  if (c.min_pixels > c.max_pixels)
    throw std::runtime_error(file + ": the minimum pixel count " + std::to_string(c.min_pixels) +
                             " is above the maximum " + std::to_string(c.max_pixels));
  auto same_as_vision = [&](const std::string& key, int64_t& field) {
    const int64_t v = positive_int(j, key, field, file);
    if (v != field)
      throw std::runtime_error(file + ": \"" + key + "\" is " + std::to_string(v) +
                               " but config.json's vision_config says " + std::to_string(field));
  };
  same_as_vision("patch_size", c.patch_size);
  same_as_vision("temporal_patch_size", c.temporal_patch_size);
  same_as_vision("merge_size", c.merge_size);
  c.mean = channel_triple(j, "image_mean", c.mean, file);
  c.stddev = channel_triple(j, "image_std", c.stddev, file);
  for (double s : c.stddev)
    if (!(s > 0)) throw std::runtime_error(file + ": \"image_std\" values must be positive");
  return c;
}

ImagePatches preprocess_image(const RgbImage& image, const ImagePreprocessorConfig& c) {
  const ResizeTarget size =
      smart_resize(image.height, image.width, c.factor(), c.min_pixels, c.max_pixels);
  const RgbImage resized = resize_bicubic(image, size.width, size.height);

  const int64_t P = c.patch_size, T = c.temporal_patch_size, M = c.merge_size;
  ImagePatches out;
  out.resized_width = size.width;
  out.resized_height = size.height;
  out.grid = {1, size.height / P, size.width / P};
  // Rescale and normalise: (u / 255 − mean) / std, evaluated in double.
  float lut[3][256];
  for (int ch = 0; ch < 3; ++ch)
    for (int u = 0; u < 256; ++u)
      lut[ch][u] = static_cast<float>((u / 255.0 - c.mean[ch]) / c.stddev[ch]);

  const std::vector<PatchCoord> order = merge_block_order(out.grid.h, out.grid.w, M);
  const int64_t dim = 3 * T * P * P;
  out.values.resize(order.size() * dim);
  float* v = out.values.data();
  for (const PatchCoord& p : order)
    for (int ch = 0; ch < 3; ++ch)
      for (int64_t t = 0; t < T; ++t)  // a still image fills every temporal slot with itself
        for (int64_t r = 0; r < P; ++r)
          for (int64_t col = 0; col < P; ++col)
            *v++ = lut[ch][resized.at(p.row * P + r, p.col * P + col, ch)];
  return out;
}

}  // namespace tf
