// The Qwen3.5 vision tower forward pass (spec §4.3–4.6): patch vectors of one image in, one
// embedding per merged 2×2 block out, ready to replace the image's <|image_pad|> embeddings.
//
//   patch embedding + learned position embedding
//   → depth × pre-norm block: x += proj(attn(rope(qkv(LN₁ x)))); x += fc2(gelu_tanh(fc1(LN₂ x)))
//   → merger: LN per patch, concatenate each merge block, fc1, exact GELU, fc2
//
// Attention is bidirectional within each temporal group of the image, never across images.
// Activations are float32; the big products go through the same matmul kernels as prefill.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "model/compute.h"
#include "model/vision_positions.h"
#include "model/vision_weights.h"
#include "storage/model_config.h"

namespace tf {

// Called with intermediate activations ([rows][cols], patches in merge-block order) for
// debugging and tests: "patch_embed_plus_pos_embed", "block{j}_fc1_preact", "block{j}_out",
// "merger_fc1_preact" (the names of the reference traces).
using VisionTraceFn =
    std::function<void(const std::string& name, const float* data, int64_t rows, int64_t cols)>;

// Patch vector length C·T·P·P of a config.
int64_t vision_patch_dim(const VisionConfig& config);

// patches: [grid.patches()][vision_patch_dim], merge-block order, each vector in the HF
// (channel, temporal, row, col) order whatever the checkpoint's layout (spec §4.2).
// out: [grid.merged_tokens(merge)][out_hidden_size]. Throws std::invalid_argument when the grid
// is not a multiple of the merge size.
void vision_forward(const VisionWeights& weights, const VisionConfig& config,
                    const float* patches, ImageGrid grid, float* out, const Compute& compute,
                    const VisionTraceFn& trace = {});

}  // namespace tf
