// What a Qwen3.5 tensor is for (spec §2): the roles that quantization recipes, `inspect` and
// `convert` reports talk about. Works on tensor names and module paths in every spelling the
// project meets: Hugging Face (`model.language_model.…`, `model.visual.…`, `lm_head`, `mtp.…`),
// mlx-vlm / mlx-lm (`language_model.model.…`, `language_model.lm_head`, `vision_tower.…`) and
// the plain `model.layers.…` of text-only exports.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tf {

enum class TensorRole : uint8_t {
  Router,            // mlp.gate: the 256-way expert router
  SharedExpertGate,  // mlp.shared_expert_gate: the scalar sigmoid gate of the shared expert
  Norm,              // every RMSNorm: input/post-attention, final, q/k norm, the GDN gated norm
  DeltaNetParams,    // linear_attn.dt_bias, A_log, conv1d
  Embed,             // embed_tokens
  LmHead,            // lm_head
  FullAttention,     // self_attn q/k/v/o projections
  LinearAttention,   // linear_attn in_proj_* and out_proj
  SharedExpert,      // mlp.shared_expert.{gate,up,down}_proj
  RoutedExperts,     // mlp.experts.* (HF, fused or per expert) / mlp.switch_mlp.* (MLX)
  DenseMlp,          // mlp.{gate,up,down}_proj of dense Qwen3.5 layers (spec §1.5)
  Vision,            // the whole vision tower, merger included
  Mtp,               // the multi-token-prediction layer (`mtp.*`), dropped by MLX loaders
  Other,             // anything else
};
inline constexpr int kNumTensorRoles = static_cast<int>(TensorRole::Other) + 1;

// Recipe / report spelling: "router", "shared_expert_gate", "norm", "deltanet_params", "embed",
// "lm_head", "full_attention", "linear_attention", "shared_expert", "routed_experts",
// "dense_mlp", "vision", "mtp", "other".
std::string_view role_name(TensorRole role);
std::optional<TensorRole> parse_role(std::string_view name);

// Which spelling a single name uses.
enum class NamingScheme : uint8_t { HuggingFace, Mlx, Plain };

struct TensorRoleInfo {
  TensorRole role = TensorRole::Other;
  NamingScheme scheme = NamingScheme::Plain;
  int layer = -1;   // decoder layer index (`layers.{i}`, text or mtp); -1 when none
  int block = -1;   // vision block index (`blocks.{j}`); -1 when none
  int expert = -1;  // HF per-expert tensors (`experts.{e}.…`); -1 when none
};

// Classifies a tensor name or a module path (the role does not depend on the `.weight`,
// `.scales`, `.biases` or `.bias` suffix).
TensorRoleInfo classify_tensor(const std::string& name);
inline TensorRole role_of(const std::string& name) { return classify_tensor(name).role; }

// A tensor name split at its last dot: module path (what quantization configs key on, spec
// §5.5) and parameter (`weight`, `scales`, `biases`, `bias`, or a bare one like `dt_bias`,
// `A_log`, HF's fused `gate_up_proj`).
struct ModuleParam {
  std::string module;
  std::string param;
};
ModuleParam split_module_param(const std::string& tensor_name);

}  // namespace tf
