// The built-in recipes, written in the recipe JSON format so that
// `tightfit convert --show-recipe NAME` prints a file a user can start from. Every preset rule is
// optional: a preset serves checkpoints with or without vision, MTP, dense or MoE MLPs.
#include <array>

#include "quant/recipe.h"

namespace tf {

namespace {

struct Preset {
  const char* name;
  const char* json;
};

// Roles that no preset quantizes: the router and the shared-expert gate (tiny, and the whole
// routing decision hangs on them), norms and DeltaNet parameters (not Linear modules at all), and
// the vision tower (mlx-vlm never quantizes it either, spec §5.6).
#define TF_KEEP_RULE \
  R"J({"role": ["router", "shared_expert_gate", "norm", "deltanet_params", "vision"], "keep": true, "optional": true})J"

constexpr std::array kPresets = {
    Preset{"dynamic", R"J({
  "name": "dynamic",
  "description": "The 2.6-bpw mixed recipe: routed experts 2-bit; embedding, head, attention, linear attention and shared expert 3-bit; router, shared-expert gate, norms, DeltaNet parameters and vision kept bf16.",
  "group_size": 64,
  "rules": [
    )J" TF_KEEP_RULE R"J(,
    {"role": ["embed", "lm_head", "full_attention", "linear_attention", "shared_expert"], "bits": 3, "optional": true},
    {"role": "routed_experts", "bits": 2, "optional": true},
    {"bits": 2, "optional": true, "comment": "anything else quantizable (dense MLP, MTP projection)"}
  ]})J"},
    Preset{"uniform-2", R"J({
  "name": "uniform-2",
  "description": "Every Linear / Embedding / SwitchLinear at 2 bits; router, shared-expert gate, norms, DeltaNet parameters and vision kept.",
  "group_size": 64,
  "rules": [
    )J" TF_KEEP_RULE R"J(,
    {"bits": 2, "optional": true}
  ]})J"},
    Preset{"uniform-3", R"J({
  "name": "uniform-3",
  "description": "Every Linear / Embedding / SwitchLinear at 3 bits; router, shared-expert gate, norms, DeltaNet parameters and vision kept.",
  "group_size": 64,
  "rules": [
    )J" TF_KEEP_RULE R"J(,
    {"bits": 3, "optional": true}
  ]})J"},
    Preset{"uniform-4", R"J({
  "name": "uniform-4",
  "description": "Every Linear / Embedding / SwitchLinear at 4 bits; router, shared-expert gate, norms, DeltaNet parameters and vision kept.",
  "group_size": 64,
  "rules": [
    )J" TF_KEEP_RULE R"J(,
    {"bits": 4, "optional": true}
  ]})J"},
    Preset{"tight", R"J({
  "name": "tight",
  "description": "dynamic with the linear-attention (Gated DeltaNet) projections at 2 bits as well.",
  "group_size": 64,
  "rules": [
    )J" TF_KEEP_RULE R"J(,
    {"role": ["embed", "lm_head", "full_attention", "shared_expert"], "bits": 3, "optional": true},
    {"bits": 2, "optional": true}
  ]})J"},
    Preset{"edge-boost", R"J({
  "name": "edge-boost",
  "description": "dynamic with decoder layers 0-7 one step higher: their attention, linear attention and shared expert at 4 bits, their experts at 3 bits.",
  "group_size": 64,
  "rules": [
    )J" TF_KEEP_RULE R"J(,
    {"role": ["full_attention", "linear_attention", "shared_expert"], "layers": "0-7", "bits": 4, "optional": true},
    {"layers": "0-7", "bits": 3, "optional": true},
    {"role": ["embed", "lm_head", "full_attention", "linear_attention", "shared_expert"], "bits": 3, "optional": true},
    {"bits": 2, "optional": true}
  ]})J"},
    Preset{"mixed-2-6", R"J({
  "name": "mixed-2-6",
  "description": "mlx-lm's mixed_2_6 choice with dynamic's kept roles: lm_head 6-bit; v_proj and every down_proj 6-bit in the sensitive layers (first and last eighth, every third between); everything else 2-bit.",
  "group_size": 64,
  "rules": [
    )J" TF_KEEP_RULE R"J(,
    {"role": "lm_head", "bits": 6, "optional": true},
    {"match": "*v_proj*", "layers": "sensitive", "bits": 6, "optional": true},
    {"match": "*down_proj*", "layers": "sensitive", "bits": 6, "optional": true},
    {"bits": 2, "optional": true}
  ]})J"},
};

#undef TF_KEEP_RULE

}  // namespace

std::vector<std::string> builtin_recipe_names() {
  std::vector<std::string> names;
  for (const auto& p : kPresets) names.emplace_back(p.name);
  return names;
}

std::optional<Recipe> builtin_recipe(std::string_view name) {
  for (const auto& p : kPresets)
    if (name == p.name) return Recipe::from_json(nlohmann::json::parse(p.json), "preset " + std::string(p.name));
  return std::nullopt;
}

}  // namespace tf
