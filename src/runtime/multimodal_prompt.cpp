#include "runtime/multimodal_prompt.h"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "runtime/image_resize.h"

namespace tf {

namespace {

ImagePatches preprocess_for(const Model& model, const ImagePreprocessorConfig& config,
                            const RgbImage& image) {
  if (!model.vision_config())
    throw std::logic_error("this model has no vision tower (config.json has no vision_config, "
                           "or the checkpoint no vision tensors): it cannot take images");
  return preprocess_image(image, config);
}

}  // namespace

ImageEncoding::ImageEncoding(const Model& model, const ImagePreprocessorConfig& config,
                             const RgbImage& image)
    : ImageEncoding(model, preprocess_for(model, config, image)) {}

ImageEncoding::ImageEncoding(const Model& model, ImagePatches patches)
    : model_(&model),
      features_{patches.grid, patches.grid.merged_tokens(model.vision_config()->spatial_merge_size), {}},
      tower_(model.start_image_encoding(std::move(patches.values), patches.grid)) {}

ImageFeatures ImageEncoding::take() {
  if (!done()) throw std::logic_error("ImageEncoding::take: the image is not encoded yet");
  features_.embeddings = std::move(tower_.output());
  return std::move(features_);
}

ImageFeatures encode_image(const Model& model, const ImagePreprocessorConfig& config,
                           const RgbImage& image) {
  ImageEncoding encoding(model, config, image);
  while (!encoding.done()) encoding.run_stage();
  return encoding.take();
}

int64_t image_token_count(const Model& model, const ImagePreprocessorConfig& config,
                          const RgbImage& image) {
  const VisionConfig* v = model.vision_config();
  if (!v) throw std::logic_error("this model has no vision tower: it cannot take images");
  const ResizeTarget size = smart_resize(image.height, image.width, config.factor(),
                                         config.min_pixels, config.max_pixels);
  const ImageGrid grid{1, size.height / config.patch_size, size.width / config.patch_size};
  return grid.merged_tokens(v->spatial_merge_size);
}

void check_image_prompt_fits(const Model& model, int64_t text_tokens,
                             std::span<const int64_t> image_tokens) {
  const int64_t context = model.text().max_position_embeddings;
  int64_t total = text_tokens;
  std::string each;
  for (size_t i = 0; i < image_tokens.size(); ++i) {
    total += image_tokens[i] - 1;  // the placeholder becomes the image's tokens
    each += (each.empty() ? "" : ", ") + std::to_string(image_tokens[i]);
  }
  if (total < context) return;
  throw std::invalid_argument("the prompt with its images has " + std::to_string(total) +
                              " tokens (images: " + each + ") and fills the model's context of " +
                              std::to_string(context) +
                              " tokens: give a smaller --max-pixels (the image tokens shrink "
                              "with the pixel count) or fewer images");
}

ImageFeatures encode_image_file(const Model& model, const ImagePreprocessorConfig& config,
                                const std::string& path) {
  const RgbImage image = load_image_file(path);
  try {
    return encode_image(model, config, image);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(path + ": " + e.what());
  }
}

std::vector<int32_t> expand_image_tokens(std::span<const int32_t> ids, int32_t image_token,
                                         std::span<const ImageFeatures> images) {
  const auto placeholders = std::count(ids.begin(), ids.end(), image_token);
  if (placeholders != static_cast<std::ptrdiff_t>(images.size()))
    throw std::invalid_argument("the prompt has " + std::to_string(placeholders) +
                                " image placeholders (<|image_pad|>) for " +
                                std::to_string(images.size()) + " images");
  std::vector<int32_t> out;
  out.reserve(ids.size());
  size_t k = 0;
  for (int32_t id : ids) {
    if (id != image_token) {
      out.push_back(id);
      continue;
    }
    out.insert(out.end(), static_cast<size_t>(images[k++].tokens), image_token);
  }
  return out;
}

std::vector<Position3> multimodal_positions(std::span<const int32_t> ids, int32_t image_token,
                                            std::span<const ImageGrid> merged_grids,
                                            int64_t* next_position) {
  std::vector<Position3> pos;
  pos.reserve(ids.size());
  int64_t P = 0;
  size_t image = 0;
  for (size_t i = 0; i < ids.size();) {
    if (ids[i] != image_token) {
      pos.push_back(Position3::text(P++));
      ++i;
      continue;
    }
    if (image == merged_grids.size())
      throw std::invalid_argument("the prompt has more image tokens than its " +
                                  std::to_string(merged_grids.size()) + " images need");
    const ImageGrid g = merged_grids[image++];
    const int64_t n = g.patches();
    if (i + n > ids.size() ||
        !std::all_of(ids.begin() + i, ids.begin() + i + n, [&](int32_t t) { return t == image_token; }))
      throw std::invalid_argument("image " + std::to_string(image) + " needs " +
                                  std::to_string(n) + " consecutive image tokens in the prompt");
    for (int64_t t = 0; t < g.t; ++t)
      for (int64_t r = 0; r < g.h; ++r)
        for (int64_t c = 0; c < g.w; ++c) pos.push_back({P + t, P + r, P + c});
    i += n;
    P += std::max({g.t, g.h, g.w});  // the next text follows the image's largest extent (§9.11)
  }
  if (image != merged_grids.size())
    throw std::invalid_argument("the prompt has image tokens for " + std::to_string(image) +
                                " of its " + std::to_string(merged_grids.size()) + " images");
  if (next_position) *next_position = P;
  return pos;
}

MultimodalPrompt build_multimodal_prompt(const Model& model, std::span<const int32_t> ids,
                                         std::span<const ImageFeatures> images) {
  const int64_t H = model.hidden_size();
  MultimodalPrompt p;
  const int32_t image_token = model.config().image_token_id;
  if (images.empty()) {
    p.ids.assign(ids.begin(), ids.end());
  } else {
    if (image_token < 0)
      throw std::invalid_argument("config.json has no image_token_id: the model cannot take images");
    p.ids = expand_image_tokens(ids, image_token, images);
  }
  const int64_t merge = model.vision_config() ? model.vision_config()->spatial_merge_size : 1;
  std::vector<ImageGrid> merged;
  for (const ImageFeatures& f : images) {
    const ImageGrid g{f.grid.t, f.grid.h / merge, f.grid.w / merge};
    if (g.patches() != f.tokens || static_cast<int64_t>(f.embeddings.size()) != f.tokens * H)
      throw std::invalid_argument("image features do not match their grid and the model width");
    merged.push_back(g);
  }
  int64_t next = 0;
  p.positions = multimodal_positions(p.ids, images.empty() ? -1 : image_token, merged, &next);
  p.rope_delta = next - static_cast<int64_t>(p.ids.size());

  // Embed every id (image tokens included, as the reference does), then overwrite the image
  // rows in order (spec §4.7).
  p.embeddings.resize(p.ids.size() * H);
  model.embed(p.ids, p.embeddings.data());
  size_t image = 0, row_in_image = 0;
  for (size_t i = 0; i < p.ids.size() && !images.empty(); ++i) {
    if (p.ids[i] != image_token) continue;
    const ImageFeatures& f = images[image];
    std::copy_n(f.embeddings.data() + row_in_image * H, H, p.embeddings.data() + i * H);
    if (++row_in_image == static_cast<size_t>(f.tokens)) {
      row_in_image = 0;
      ++image;
    }
  }
  return p;
}

}  // namespace tf
