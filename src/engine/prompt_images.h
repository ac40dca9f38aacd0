// The images of a prompt on the worker: their shapes first (grid and token count from the
// smart-resized size, no vision work), so the prompt cache can be asked before the vision tower
// runs; then only the images whose tokens lie past the restored prefix are encoded (a chat's
// earlier images come back with the cached state instead of going through the tower again).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "engine/prepared_request.h"
#include "model/model.h"
#include "runtime/multimodal_prompt.h"

namespace tightfit {

// One entry per image of `p`, in order: grid and token count set, embeddings zero.
std::vector<tf::ImageFeatures> image_shapes(const tf::Model& model, const PreparedRequest& p);

// Encodes the images whose runs of `image_token` in `expanded_ids` end after `kept` tokens,
// replacing their zero embeddings; the others are never fed. Returns the seconds it took.
double encode_images_after(const tf::Model& model, const PreparedRequest& p,
                           std::span<const int32_t> expanded_ids, int32_t image_token,
                           int64_t kept, std::vector<tf::ImageFeatures>& features);

}  // namespace tightfit
