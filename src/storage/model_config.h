// config.json of a Qwen3.5 (MoE) checkpoint in either layout (spec §1, §5.5):
//  - Hugging Face: text fields under `text_config`, vision under `vision_config`;
//  - MLX (mlx-lm / mlx-vlm): same fields (mlx-lm may flatten text fields to the top level and
//    drop `vision_config`), plus a `quantization` block.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

// Only the declarations: this header reaches nearly every translation unit (through model/), and
// the full nlohmann/json.hpp costs each of them about a second of compile time.
#include <nlohmann/json_fwd.hpp>

namespace tf {

enum class LayerType { LinearAttention, FullAttention };

// The largest value config.json may give each kind of dimension. Far above any published model
// (the largest have ~200 layers, widths of 25k, MLP widths of 100k, 256k-token vocabularies,
// 512 experts, 128 heads of 256), and small enough that no shape product overflows int64
// (the largest, experts x 2 x MLP width x width, stays below 2^51) and that nothing is
// allocated per layer or per expert before the weights are seen.
struct ConfigLimits {
  static constexpr int kLayers = 1024;             // decoder layers, vision blocks
  static constexpr int kWidth = 1 << 17;           // hidden sizes
  static constexpr int kMlpWidth = 1 << 20;        // (expert) intermediate sizes
  static constexpr int kHeads = 1024;              // attention and linear-attention heads
  static constexpr int kHeadDim = 4096;
  static constexpr int kVocab = 1 << 24;
  static constexpr int kExperts = 4096;
  static constexpr int kPositions = 1 << 26;       // max_position_embeddings, position tables
  static constexpr int kSmall = 64;                // conv kernels, patch and merge sizes, channels
  static constexpr int kListEntries = 4096;        // eos_token_id, mlp_only_layers, ... lists
};

struct TextConfig {
  std::string model_type;  // qwen3_5_moe_text, qwen3_5_text, ...
  int hidden_size = 0;
  int num_hidden_layers = 0;
  std::vector<LayerType> layer_types;  // from `layer_types`, else full_attention_interval
  int vocab_size = 0;
  float rms_norm_eps = 1e-6f;
  bool tie_word_embeddings = false;
  int max_position_embeddings = 0;

  // gated full attention (§3.5)
  int num_attention_heads = 0;
  int num_key_value_heads = 0;
  int head_dim = 0;
  bool attn_output_gate = true;
  float partial_rotary_factor = 0.25f;
  double rope_theta = 1e7;
  std::vector<int> mrope_section;  // e.g. {11, 11, 10}
  bool mrope_interleaved = true;

  // Gated DeltaNet (§3.4)
  int linear_num_key_heads = 0;
  int linear_num_value_heads = 0;
  int linear_key_head_dim = 0;
  int linear_value_head_dim = 0;
  int linear_conv_kernel_dim = 4;

  // MoE (§3.7); num_experts == 0 means a dense SwiGLU MLP with intermediate_size
  int num_experts = 0;
  int num_experts_per_tok = 0;
  int moe_intermediate_size = 0;
  int shared_expert_intermediate_size = 0;
  int intermediate_size = 0;
  bool norm_topk_prob = true;
  std::vector<int> mlp_only_layers;

  std::vector<int> eos_token_ids;

  int rotary_dim() const { return static_cast<int>(head_dim * partial_rotary_factor); }
  bool is_moe_layer(int layer) const;
};

struct VisionConfig {
  int depth = 0;
  int hidden_size = 0;
  int num_heads = 0;
  int intermediate_size = 0;
  int in_channels = 3;
  int patch_size = 16;
  int temporal_patch_size = 2;
  int spatial_merge_size = 2;
  int num_position_embeddings = 0;
  int out_hidden_size = 0;
  std::vector<int> deepstack_visual_indexes;
};

struct QuantSpec {
  int bits = 4;
  int group_size = 64;
  std::string mode = "affine";
  bool operator==(const QuantSpec&) const = default;
};

// The MLX `quantization` block: defaults plus per-module-path overrides, where an override is
// either a spec or `false` (kept dense, stored as nullopt).
struct QuantizationConfig {
  QuantSpec defaults;
  std::map<std::string, std::optional<QuantSpec>> overrides;

  // Spec for a module path (no `.weight`): the override when present (`false` → nullopt), else
  // the defaults. Keys and queries may use MLX or HF spelling, with or without a leading
  // `language_model.` (as mlx-vlm accepts, spec §5.5). Whether the module is quantized at all
  // is decided by the tensors (`.scales` present); this answers only "with which bits/group".
  std::optional<QuantSpec> lookup(const std::string& module_path) const;
  // The override lookup() would use, or nullptr when the module takes the defaults.
  const std::optional<QuantSpec>* find_override(const std::string& module_path) const;
  // The MLX block: {"group_size", "bits", "mode", <path>: false | {"group_size", "bits"}}.
  nlohmann::json to_json() const;
  // Parses an MLX `quantization` block. Override values: `false` (dense), `true` (defaults) or
  // {bits, group_size[, mode]} whose missing keys take MLX's own defaults (64, 4, affine).
  // Rejects non-affine modes (mxfp4, nvfp4, mxfp8: spec §5.4) and bits / group sizes MLX's
  // affine kernels do not have. `source` names the file in error messages.
  static QuantizationConfig from_json(const nlohmann::json& j, const std::string& source);
};

// Bits and group sizes of MLX affine quantization (spec §5.1).
bool is_valid_affine_bits(int bits);
bool is_valid_group_size(int group_size);

struct ModelConfig {
  std::vector<std::string> architectures;
  std::string model_type;  // top-level: qwen3_5_moe, qwen3_5, ...
  TextConfig text;
  std::optional<VisionConfig> vision;
  std::optional<QuantizationConfig> quantization;
  int image_token_id = -1;
  int video_token_id = -1;
  int vision_start_token_id = -1;
  int vision_end_token_id = -1;
  // The file as read, for writers that must round-trip unknown keys (never null once loaded;
  // shared and immutable, so copying a config stays cheap).
  std::shared_ptr<const nlohmann::json> raw;

  bool is_moe() const { return text.num_experts > 0; }
  // `source` names the file in error messages ("missing field text_config.hidden_size").
  static ModelConfig from_json(const nlohmann::json& j, const std::string& source = "config.json");
  // Reads DIR/config.json; errors name the file and the offending field.
  static ModelConfig load(const std::string& dir);
};

}  // namespace tf
