// The tensors of the Qwen3.5 vision tower (spec §2.6) bound as zero-copy views into a mapped
// checkpoint: Hugging Face names under `model.visual.` (or `model.language_model.visual.`),
// mlx-vlm names under `vision_tower.`. Linears are dense F32/F16/BF16 (what our recipes keep)
// or MLX affine quantized when their `.scales` exist; every one has a bias. Only LayerNorm
// weights and biases are converted to float32 at load (a few KB per block).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "kernels/weight_matrix.h"
#include "model/tensor_binder.h"
#include "storage/model_config.h"
#include "storage/safetensors.h"

namespace tf {

// Order of the values inside one patch vector that the patch-embedding weight expects
// (spec §2.1 item 4, §4.3).
enum class PatchLayout {
  ChannelFirst,  // HF Conv3d weight (out, C, T, kh, kw): vectors (C, T, row, col)
  ChannelLast,   // mlx-vlm (out, T, kh, kw, C): vectors (T, row, col, C)
};

struct LayerNormWeights {
  std::vector<float> weight, bias;
};

struct VisionBlockWeights {
  LayerNormWeights norm1, norm2;
  BiasedLinear qkv;   // [3·hidden, hidden], rows q | k | v, each heads × head_dim
  BiasedLinear proj;  // [hidden, hidden]
  BiasedLinear fc1;   // [intermediate, hidden]
  BiasedLinear fc2;   // [hidden, intermediate]
};

struct VisionWeights {
  std::string prefix;            // "model.visual." or "vision_tower." (for messages)
  BiasedLinear patch_embed;      // [hidden, C·T·P·P], columns in patch_layout order
  PatchLayout patch_layout = PatchLayout::ChannelFirst;
  WeightMatrix pos_embed;        // [side², hidden], a side × side learned grid, row-major
  int64_t pos_side = 0;
  std::vector<VisionBlockWeights> blocks;
  LayerNormWeights merger_norm;  // per patch, before the 2×2 concatenation
  BiasedLinear merger_fc1;       // [merge²·hidden, merge²·hidden]
  BiasedLinear merger_fc2;       // [out_hidden, merge²·hidden]

  // Binds the tower that config.vision describes. Returns nullopt when the checkpoint has no
  // vision tensors (a text-only conversion). Throws naming the tensor or config field when
  // one is missing, mis-shaped, of an unsupported dtype, or not part of the tower, and when the
  // vision config is unusable (deepstack, head dim, position grid, output width).
  static std::optional<VisionWeights> bind(const Checkpoint& checkpoint, const ModelConfig& config);
};

// The prefix the checkpoint's vision tensors use, or "" when it has none.
std::string vision_tensor_prefix(const Checkpoint& checkpoint);

}  // namespace tf
