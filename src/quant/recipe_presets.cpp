// The built-in recipes, as data: each preset is a name, a description and its rules in the recipe
// JSON format (`tightfit convert --show-recipe NAME` prints the whole recipe, a file a user can
// start from). Every preset begins with the same kept roles, uses group size 64, and marks every
// rule optional: a preset serves checkpoints with or without vision, MTP, dense or MoE MLPs.
#include "quant/recipe.h"

#include <nlohmann/json.hpp>

namespace tf {

namespace {

using nlohmann::json;

struct Preset {
  const char* name;
  const char* description;
  const char* rules;  // JSON list of the rules that follow the kept roles
};

// Roles that no preset quantizes: the router and the shared-expert gate (tiny, and the whole
// routing decision hangs on them), norms and DeltaNet parameters (not Linear modules at all), and
// the vision tower (mlx-vlm never quantizes it either, spec §5.6).
constexpr const char* kKeepRule =
    R"J({"role": ["router", "shared_expert_gate", "norm", "deltanet_params", "vision"], "keep": true})J";

constexpr Preset kPresets[] = {
    {"dynamic",
     "The 2.6-bpw mixed recipe: routed experts 2-bit; embedding, head, attention, linear attention "
     "and shared expert 3-bit; router, shared-expert gate, norms, DeltaNet parameters and vision "
     "kept bf16.",
     R"J([
       {"role": ["embed", "lm_head", "full_attention", "linear_attention", "shared_expert"], "bits": 3},
       {"role": "routed_experts", "bits": 2},
       {"bits": 2, "comment": "anything else quantizable (dense MLP, MTP projection)"}])J"},
    {"uniform-2",
     "Every Linear / Embedding / SwitchLinear at 2 bits; router, shared-expert gate, norms, "
     "DeltaNet parameters and vision kept.",
     R"J([{"bits": 2}])J"},
    {"uniform-3",
     "Every Linear / Embedding / SwitchLinear at 3 bits; router, shared-expert gate, norms, "
     "DeltaNet parameters and vision kept.",
     R"J([{"bits": 3}])J"},
    {"uniform-4",
     "Every Linear / Embedding / SwitchLinear at 4 bits; router, shared-expert gate, norms, "
     "DeltaNet parameters and vision kept.",
     R"J([{"bits": 4}])J"},
    {"tight", "dynamic with the linear-attention (Gated DeltaNet) projections at 2 bits as well.",
     R"J([
       {"role": ["embed", "lm_head", "full_attention", "shared_expert"], "bits": 3},
       {"bits": 2}])J"},
    {"edge-boost",
     "dynamic with decoder layers 0-7 one step higher: their attention, linear attention and "
     "shared expert at 4 bits, their experts at 3 bits.",
     R"J([
       {"role": ["full_attention", "linear_attention", "shared_expert"], "layers": "0-7", "bits": 4},
       {"layers": "0-7", "bits": 3},
       {"role": ["embed", "lm_head", "full_attention", "linear_attention", "shared_expert"], "bits": 3},
       {"bits": 2}])J"},
    {"mixed-2-6",
     "mlx-lm's mixed_2_6 choice with dynamic's kept roles: lm_head 6-bit; v_proj and every "
     "down_proj 6-bit in the sensitive layers (first and last eighth, every third between); "
     "everything else 2-bit.",
     R"J([
       {"role": "lm_head", "bits": 6},
       {"match": "*v_proj*", "layers": "sensitive", "bits": 6},
       {"match": "*down_proj*", "layers": "sensitive", "bits": 6},
       {"bits": 2}])J"},
};

// The preset in the recipe JSON format.
json preset_json(const Preset& p) {
  json rules = json::array({json::parse(kKeepRule)});
  for (const json& rule : json::parse(p.rules)) rules.push_back(rule);
  for (json& rule : rules) rule["optional"] = true;
  return {{"name", p.name}, {"description", p.description}, {"group_size", 64}, {"rules", rules}};
}

}  // namespace

std::vector<std::string> builtin_recipe_names() {
  std::vector<std::string> names;
  for (const auto& p : kPresets) names.emplace_back(p.name);
  return names;
}

std::optional<Recipe> builtin_recipe(std::string_view name) {
  for (const auto& p : kPresets)
    if (name == p.name) return Recipe::from_json(preset_json(p), "preset " + std::string(p.name));
  return std::nullopt;
}

}  // namespace tf
