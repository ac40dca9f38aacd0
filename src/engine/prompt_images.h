// The images of a prompt on the worker: their shapes first (grid and token count from the
// smart-resized size, no vision work), so the prompt cache can be asked before the vision tower
// runs; then only the images whose tokens lie past the restored prefix are encoded (a chat's
// earlier images come back with the cached state instead of going through the tower again).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "engine/prepared_request.h"
#include "model/model.h"
#include "runtime/multimodal_prompt.h"

namespace tightfit {

// One entry per image of `p`, in order: grid and token count set, embeddings zero.
std::vector<tf::ImageFeatures> image_shapes(const tf::Model& model, const PreparedRequest& p);

// The images whose runs of `image_token` in `expanded_ids` end after `kept` tokens (the others
// are never fed), encoded a vision-tower stage at a time: the scheduler runs one stage per
// step, between the decode steps of the other sequences, so a large image does not stall them
// for the whole tower (docs/engine.md). `features` and `p` must outlive it.
class PendingImages {
 public:
  PendingImages(const tf::Model& model, const PreparedRequest& p,
                std::span<const int32_t> expanded_ids, int32_t image_token, int64_t kept,
                std::vector<tf::ImageFeatures>& features);
  bool done() const { return next_ == todo_.size(); }
  // One stage of the first image not yet encoded; after its last stage its embeddings replace
  // the zero ones in `features`. Returns the seconds it took. Throws as tf::encode_image does.
  double run_stage();

 private:
  const tf::Model& model_;
  const PreparedRequest& prepared_;
  std::vector<tf::ImageFeatures>& features_;
  std::vector<size_t> todo_;  // indices into features_
  size_t next_ = 0;
  std::optional<tf::ImageEncoding> current_;
};

}  // namespace tightfit
