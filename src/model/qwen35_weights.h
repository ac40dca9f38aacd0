// The tensors of a Qwen3.5 (MoE or dense) text model, bound as zero-copy views into a mapped
// checkpoint (spec §2). Every linear is a WeightMatrix: dense F32/F16/BF16, or MLX affine
// quantized when its `.scales` tensor exists (bits and group read from the shapes and
// cross-checked with the config's `quantization` block). (The model may then re-lay out the
// quantized matrices for its Int8 kernel: model/interleaved_weights.h.) Nothing large is copied or
// dequantized; only the tiny per-channel vectors (norms, conv taps, A_log, dt_bias) are
// converted to float32 at load, with the zero-centred norm offset already applied.
#pragma once

#include <string>
#include <vector>

#include "kernels/weight_matrix.h"
#include "storage/model_config.h"
#include "storage/safetensors.h"
#include "storage/tensor_names.h"

namespace tf {

// SwiGLU feed-forward: down(silu(gate x) ⊙ up x). Used for experts, the shared expert and the
// dense-model MLP.
struct SwiGluWeights {
  WeightMatrix gate, up, down;
};

struct MoeWeights {
  WeightMatrix router;                // [E, H]
  std::vector<SwiGluWeights> experts;  // E views (slices of stacked / fused tensors)
  bool has_shared_expert = false;
  SwiGluWeights shared_expert;
  WeightMatrix shared_expert_gate;    // [1, H]
};

struct GatedDeltaNetWeights {
  WeightMatrix in_proj_qkv;  // [2·key_dim + value_dim, H]
  WeightMatrix in_proj_z;    // [value_dim, H]
  WeightMatrix in_proj_b;    // [Hv, H]
  WeightMatrix in_proj_a;    // [Hv, H]
  WeightMatrix out_proj;     // [H, value_dim]
  std::vector<float> conv;   // [conv_dim][K], tap K − 1 = current token
  std::vector<float> neg_exp_a_log;  // −exp(A_log) per value head
  std::vector<float> dt_bias;        // per value head
  std::vector<float> norm;           // gated RMSNorm weight [Dv], plain (never offset)
};

struct GatedAttentionWeights {
  WeightMatrix q_proj;  // [heads · 2 · head_dim, H], per head: query rows then gate rows
  WeightMatrix k_proj;  // [kv_heads · head_dim, H]
  WeightMatrix v_proj;
  WeightMatrix o_proj;  // [H, heads · head_dim]
  std::vector<float> q_norm, k_norm;  // [head_dim], offset applied
};

struct LayerWeights {
  LayerType type = LayerType::LinearAttention;
  std::vector<float> input_norm, post_norm;  // [H], offset applied
  GatedDeltaNetWeights gdn;                  // when type == LinearAttention
  GatedAttentionWeights attn;                // when type == FullAttention
  bool is_moe = false;
  MoeWeights moe;     // when is_moe
  SwiGluWeights mlp;  // otherwise (dense Qwen3.5)
};

struct Qwen35Weights {
  CheckpointFlavour flavour = CheckpointFlavour::HuggingFace;  // naming scheme (spec §2.1, §2.8)
  WeightMatrix embed;    // [V, H]
  WeightMatrix lm_head;  // [V, H]; the embedding matrix when tied
  std::vector<float> final_norm;  // offset applied
  std::vector<LayerWeights> layers;

  // Binds every text tensor; throws naming the tensor when one is missing, mis-shaped, of an
  // unsupported dtype, or quantized inconsistently with the config, and naming any text tensor
  // it does not understand. The views point into `checkpoint`, which must outlive this.
  static Qwen35Weights bind(const Checkpoint& checkpoint, const ModelConfig& config);
};

class TensorBinder;
// One decoder layer whose tensors are named `<prefix>input_layernorm.weight`, `<prefix>mlp.…`,
// … in any layout the binder knows (dense, MLX affine; experts stacked, HF fused or per
// expert). norm_offset: 1 for HF files (zero-centred norms store w), 0 for MLX (1 + w stored).
// Shared by the main layers and the MTP head's layer (model/mtp_weights.h).
LayerWeights bind_decoder_layer(TensorBinder& binder, const std::string& prefix, LayerType type,
                                bool is_moe, const TextConfig& config, float norm_offset);

}  // namespace tf
