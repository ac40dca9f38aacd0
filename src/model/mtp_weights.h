// The multi-token-prediction head of Qwen3.5 (docs/model.md §10.1–§10.2): `mtp.fc` over
// [normed embedding ; normed hidden], one full-attention MoE decoder layer and the head's final
// norm. It has no embedding or output head of its own: it uses the main model's (§2).
//
// Bound from every layout the main model loads: Hugging Face (norms store w, experts per expert
// or fused) and MLX after `tightfit convert --keep-mtp` (`mtp.` prefix kept, norms store 1 + w,
// experts stacked as `switch_mlp`, linears optionally affine-quantized). mlx-vlm's separate
// drafter folder (prefix stripped) is not a layout this loader reads.
#pragma once

#include <optional>
#include <vector>

#include "kernels/weight_matrix.h"
#include "model/qwen35_weights.h"
#include "storage/model_config.h"
#include "storage/safetensors.h"

namespace tf {

struct MtpWeights {
  WeightMatrix fc;                             // [H, 2H]; columns 0…H−1 take the embedding
  std::vector<float> pre_fc_norm_embedding;    // [H], offset applied
  std::vector<float> pre_fc_norm_hidden;       // [H], offset applied
  LayerWeights layer;                          // full attention + MoE (or dense MLP)
  std::vector<float> norm;                     // [H] mtp.norm, offset applied

  // The head when the checkpoint has `mtp.fc.weight`, else nullopt. Throws naming the tensor
  // when the head is incomplete, mis-shaped or holds tensors it does not understand.
  static std::optional<MtpWeights> bind(const Checkpoint& checkpoint, const ModelConfig& config,
                                        CheckpointFlavour flavour);
};

}  // namespace tf
