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
#include <vector>

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

// One image through the tower a stage at a time — the patch embedding, each block, the merger —
// so that a scheduler serving several sequences can run their decode steps between the stages
// of a large image instead of stalling them for the whole tower (engine/scheduler.cpp). Holds
// the image's activations between stages; the weights and config must outlive it.
class VisionEncoding {
 public:
  // patches: as vision_forward's. Throws std::invalid_argument for an empty grid or one that is
  // not a multiple of the merge size.
  VisionEncoding(const VisionWeights& weights, const VisionConfig& config,
                 std::vector<float> patches, ImageGrid grid);

  int stages() const { return static_cast<int>(weights_->blocks.size()) + 2; }
  int stages_done() const { return stage_; }
  bool done() const { return stage_ == stages(); }
  // Runs the next stage; the last one leaves the embeddings in output().
  void step(const Compute& compute, const VisionTraceFn& trace = {});
  // [grid.merged_tokens(merge)][out_hidden_size], once done().
  std::vector<float>& output() { return out_; }

 private:
  void embed_patches(const Compute& compute, const VisionTraceFn& trace);
  void block(size_t j, const Compute& compute, const VisionTraceFn& trace);
  void merge(const Compute& compute, const VisionTraceFn& trace);

  const VisionWeights* weights_;
  const VisionConfig* config_;
  ImageGrid grid_;
  int stage_ = 0;
  std::vector<float> patches_;       // freed after the patch embedding
  std::vector<float> x_, y_;         // [patches][hidden]: the residual stream and a scratch row
  std::vector<float> cos_, sin_;     // rotary angles per patch of one temporal group
  std::vector<float> out_;
};

// patches: [grid.patches()][vision_patch_dim], merge-block order, each vector in the HF
// (channel, temporal, row, col) order whatever the checkpoint's layout (spec §4.2).
// out: [grid.merged_tokens(merge)][out_hidden_size]. Throws std::invalid_argument when the grid
// is not a multiple of the merge size.
void vision_forward(const VisionWeights& weights, const VisionConfig& config,
                    const float* patches, ImageGrid grid, float* out, const Compute& compute,
                    const VisionTraceFn& trace = {});

}  // namespace tf
