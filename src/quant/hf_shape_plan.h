// The tensors a Hugging Face Qwen3.5 checkpoint holds (names, shapes, dtypes; spec §2.2–§2.6),
// derived from config.json alone. `convert --dry-run` plans a conversion from it without any
// weights, and the converter checks a real checkpoint against it (unknown tensor, wrong shape,
// missing tensor → an error naming it).
#pragma once

#include <vector>

#include "storage/dtype.h"
#include "storage/model_config.h"
#include "storage/tensor.h"

namespace tf {

struct HfShapePlanOptions {
  bool vision = true;         // model.visual.* when the config has a vision_config
  bool mtp = true;            // mtp.* (text_config.mtp_num_hidden_layers layers)
  bool fused_experts = true;  // experts.gate_up_proj / down_proj, else experts.{e}.*_proj.weight
  bool fused_mtp_experts = false;  // the same for the MTP layer (hub checkpoints: per expert)
  DType dtype = DType::BF16;  // every float tensor…
  DType a_log_dtype = DType::F32;  // …except A_log, which checkpoints keep in float32 (spec §2.3)
};

// Number of MTP layers the config declares (text_config.mtp_num_hidden_layers, default 0).
int mtp_layer_count(const ModelConfig& config);

// Every tensor of the checkpoint in HF naming, model order (embedding, layers, norm, head,
// vision, mtp). The MTP layer is a full-attention MoE layer with per-expert tensors, plus
// mtp.fc [H, 2H] and the norms mtp.pre_fc_norm_embedding / pre_fc_norm_hidden / norm.
std::vector<TensorSpec> hf_tensor_specs(const ModelConfig& config, const HfShapePlanOptions& options);

}  // namespace tf
