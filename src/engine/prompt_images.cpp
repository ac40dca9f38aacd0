#include "engine/prompt_images.h"

#include <chrono>
#include <stdexcept>

#include "runtime/image_resize.h"

namespace tightfit {

std::vector<tf::ImageFeatures> image_shapes(const tf::Model& model, const PreparedRequest& p) {
  std::vector<tf::ImageFeatures> shapes;
  if (p.images.empty()) return shapes;
  const tf::VisionConfig* vision = model.vision_config();
  if (!vision) throw std::logic_error("this model has no vision tower: it cannot take images");
  const tf::ImagePreprocessorConfig& c = p.image_config;
  for (const tf::RgbImage& image : p.images) {
    // The grid preprocess_image makes (runtime/image_preprocessor.h).
    const tf::ResizeTarget size =
        tf::smart_resize(image.height, image.width, c.factor(), c.min_pixels, c.max_pixels);
    tf::ImageFeatures f;
    f.grid = {1, size.height / c.patch_size, size.width / c.patch_size};
    f.tokens = f.grid.merged_tokens(vision->spatial_merge_size);
    f.embeddings.assign(static_cast<size_t>(f.tokens * model.hidden_size()), 0.0f);
    shapes.push_back(std::move(f));
  }
  return shapes;
}

PendingImages::PendingImages(const tf::Model& model, const PreparedRequest& p,
                             std::span<const int32_t> expanded_ids, int32_t image_token,
                             int64_t kept, std::vector<tf::ImageFeatures>& features)
    : model_(model), prepared_(p), features_(features) {
  size_t image = 0;
  for (size_t i = 0; i < expanded_ids.size() && image < features.size();) {
    if (expanded_ids[i] != image_token) {
      ++i;
      continue;
    }
    const int64_t end = static_cast<int64_t>(i) + features[image].tokens;
    if (end > kept) todo_.push_back(image);
    i = static_cast<size_t>(end);
    ++image;
  }
}

double PendingImages::run_stage() {
  if (done()) throw std::logic_error("PendingImages::run_stage: every image is encoded");
  const auto start = std::chrono::steady_clock::now();
  const size_t image = todo_[next_];
  if (!current_) current_.emplace(model_, prepared_.image_config, prepared_.images[image]);
  current_->run_stage();
  if (current_->done()) {
    tf::ImageFeatures encoded = current_->take();
    current_.reset();
    if (encoded.tokens != features_[image].tokens || !(encoded.grid == features_[image].grid))
      throw std::logic_error("image " + std::to_string(image + 1) +
                             ": the vision tower's grid differs from the planned one");
    features_[image] = std::move(encoded);
    ++next_;
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace tightfit
