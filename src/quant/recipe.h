// Quantization recipes: which precision each module of a Qwen3.5 checkpoint gets when
// `tightfit convert` writes it in MLX layout (spec §5). A recipe is an ordered list of rules;
// the first rule whose conditions all hold for a module decides it (`keep` = stay dense, or
// MLX affine {bits, group_size}). Conditions: a glob or a regex on the module path, a set of
// roles (quant/tensor_roles.h), and a set of decoder layers. Recipes are JSON files; the
// built-in presets (recipe_presets.cpp) are written in the same JSON.
//
//   {"name": "mine", "group_size": 64, "rules": [
//      {"role": ["router", "norm"], "keep": true},
//      {"match": "*.switch_mlp.down_proj", "layers": {"first": 4, "last": 4}, "bits": 4},
//      {"regex": "layers\\.(3|7)\\.self_attn", "bits": 6, "group_size": 32},
//      {"bits": 2}]}
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "base/regex.h"
#include "quant/tensor_roles.h"

namespace tf {

// What a rule does with the modules it matches.
struct QuantAction {
  bool keep = false;   // stay dense (in the output float dtype)
  int bits = 0;        // MLX affine bits when !keep: 2, 3, 4, 5, 6, 8
  int group_size = 0;  // 0: the recipe's default (or the command line's --group-size)
};

// A set of decoder layers (indices 0 … L−1). Membership is the union of every part given.
// Modules outside the decoder layers (embedding, head, final norm, vision, mtp) are in no set.
struct LayerSelector {
  int first = 0;                          // layers [0, first)
  int last = 0;                           // layers [L − last, L)
  std::vector<std::pair<int, int>> ranges;  // inclusive [a, b]; negative values count from the end
  // mlx-lm's mixed recipes' "use more bits" layers: the first and last eighth and every third
  // layer between (i < L/8, i ≥ 7L/8, or (i − L/8) mod 3 = 2).
  bool sensitive = false;

  bool contains(int layer, int num_layers) const;
  nlohmann::json to_json() const;
  // Accepts an object {"first", "last", "ranges", "sensitive"}, a string ("0-7", "12",
  // "first:8", "last:4", "sensitive"), an integer, or an array of any of these (union).
  static LayerSelector from_json(const nlohmann::json& j, const std::string& where);
};

struct RecipeRule {
  std::string glob;                 // fnmatch-style on the module path (`*` crosses dots)
  std::string regex;                // PCRE2 (Perl) regex searched in the module path
  std::vector<TensorRole> roles;    // any of these
  std::optional<LayerSelector> layers;
  QuantAction action;
  bool optional = false;            // may match no module without that being an error
  std::string text;                 // the rule as written, for messages

  std::shared_ptr<const Regex> compiled;  // built from `regex` at parse time
};

// What a rule can see of one module. Paths are MLX module paths (the tensor name without
// `.weight`/`.bias`, spec §5.5); globs and regexes are also tried on the Hugging Face spelling.
struct ModuleInfo {
  std::string path;      // e.g. language_model.model.layers.3.self_attn.q_proj
  std::string hf_path;   // e.g. model.language_model.layers.3.self_attn.q_proj
  TensorRole role = TensorRole::Other;  // for mtp.* modules: the role inside the MTP layer
  bool mtp = false;      // part of the multi-token-prediction head (also matches role "mtp")
  int layer = -1;        // decoder layer, −1 when none (mtp layers have none)
};

bool rule_matches(const RecipeRule& rule, const ModuleInfo& module, int num_layers);

struct Recipe {
  std::string name;
  std::string description;
  int group_size = 64;  // for rules that give no group_size
  std::vector<RecipeRule> rules;

  // Index of the first rule matching `module`, or −1.
  int first_match(const ModuleInfo& module, int num_layers) const;

  nlohmann::json to_json() const;
  // Validates everything (unknown keys, roles, bits, group sizes, regex syntax, exactly one
  // action per rule) and throws std::runtime_error naming `source` and the rule.
  static Recipe from_json(const nlohmann::json& j, const std::string& source);
  // A built-in preset name, else a JSON file path.
  static Recipe load(const std::string& name_or_path);
};

// Built-in presets: dynamic (default), uniform-2, uniform-3, uniform-4, tight, edge-boost,
// mixed-2-6.
std::vector<std::string> builtin_recipe_names();
std::optional<Recipe> builtin_recipe(std::string_view name);

}  // namespace tf
