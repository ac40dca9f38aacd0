// Is this a Qwen3.5 checkpoint we can convert, and does it hold what its config.json says?
#include <map>
#include <set>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "quant/convert_plan.h"
#include "quant/hf_shape_plan.h"
#include "storage/tensor_names.h"

namespace tf {

namespace {

constexpr size_t kExamples = 6;

bool is_buffer(const std::string& n) { return ends_with(n, ".position_ids") || ends_with(n, "inv_freq"); }

// "a, b, c and 7 more"
std::string examples(const std::vector<std::string>& items) {
  std::string out;
  for (size_t i = 0; i < items.size() && i < kExamples; ++i) out += (i ? ", " : "") + items[i];
  if (items.size() > kExamples) out += " and " + std::to_string(items.size() - kExamples) + " more";
  return out;
}

// "…mlp.experts." of an expert tensor name, or "" when it is none.
std::string experts_prefix(const std::string& n) {
  const size_t at = n.find(".mlp.experts.");
  return at == std::string::npos ? "" : n.substr(0, at + 13);
}

}  // namespace

std::string canonical_hf_name(const std::string& n) {
  if (starts_with(n, "model.language_model.visual.")) return "model.visual." + n.substr(28);
  if (starts_with(n, "model.language_model.") || starts_with(n, "model.visual.")) return n;
  if (starts_with(n, "model.")) return "model.language_model." + n.substr(6);
  return n;
}

void check_supported_architecture(const nlohmann::json& j, const std::string& source) {
  static const std::set<std::string> kTypes = {"qwen3_5_moe", "qwen3_5", "qwen3_5_moe_text",
                                               "qwen3_5_text"};
  static const std::set<std::string> kArchs = {
      "Qwen3_5MoeForConditionalGeneration", "Qwen3_5ForConditionalGeneration",
      "Qwen3_5MoeForCausalLM", "Qwen3_5ForCausalLM"};
  const std::string type = j.is_object() && j.contains("model_type") && j["model_type"].is_string()
                               ? j["model_type"].get<std::string>() : "";
  std::string archs;
  bool arch_ok = true;
  if (j.is_object() && j.contains("architectures") && j["architectures"].is_array()) {
    for (const auto& a : j["architectures"]) {
      const std::string s = a.is_string() ? a.get<std::string>() : a.dump();
      archs += (archs.empty() ? "" : ", ") + s;
      arch_ok = arch_ok && kArchs.count(s);
    }
  }
  if (kTypes.count(type) && arch_ok) return;
  throw std::runtime_error(
      source + ": architecture " + (archs.empty() ? "(none given)" : archs) + ", model_type \"" +
      type + "\" is not one tightfit converts; supported: Qwen3.5 and Qwen3.5-MoE checkpoints "
      "(Qwen3_5MoeForConditionalGeneration, Qwen3_5ForConditionalGeneration and their "
      "ForCausalLM text-only forms)");
}

InputCheck check_input_tensors(const std::vector<TensorSpec>& input, const ModelConfig& config) {
  // Every tensor the config allows, in both expert layouts.
  std::map<std::string, TensorSpec> expected;
  for (bool fused : {true, false}) {
    HfShapePlanOptions o;
    o.fused_experts = o.fused_mtp_experts = fused;
    for (auto& t : hf_tensor_specs(config, o)) expected.emplace(t.name, t);
  }

  InputCheck check;
  std::set<std::string> present;
  std::vector<std::string> unknown, bad_shape, bad_dtype, missing;
  for (const auto& t : input) {
    const std::string c = canonical_hf_name(t.name);
    // Buffers, and a head tied to the embedding (loaders drop it, spec §2.1 item 5).
    if (is_buffer(c) || (c == "lm_head.weight" && config.text.tie_word_embeddings)) {
      check.ignored.push_back(t.name);
      continue;
    }
    auto it = expected.find(c);
    if (it == expected.end()) {
      unknown.push_back(t.name);
      continue;
    }
    present.insert(c);
    check.has_vision = check.has_vision || starts_with(c, "model.visual.");
    check.has_mtp = check.has_mtp || starts_with(c, "mtp.");
    if (t.shape != it->second.shape)
      bad_shape.push_back(t.name + " is " + shape_to_string(t.shape) + ", config.json says " +
                          shape_to_string(it->second.shape));
    else if (!is_float_dtype(t.dtype))
      bad_dtype.push_back(t.name + " (" + std::string(dtype_name(t.dtype)) + ")");
  }
  if (!unknown.empty())
    throw std::runtime_error(
        std::to_string(unknown.size()) + " tensor(s) are not part of a Qwen3.5 checkpoint as its "
        "config.json describes it: " + examples(unknown) + " (wrong config.json, or an "
        "unsupported variant)");
  if (!bad_shape.empty())
    throw std::runtime_error("tensor shapes disagree with config.json: " + examples(bad_shape));
  if (!bad_dtype.empty())
    throw std::runtime_error("convert reads BF16, F16 or F32 weights; these are not: " +
                             examples(bad_dtype) + " (an already quantized checkpoint?)");

  // Which expert layout each MoE block uses.
  std::set<std::string> fused_blocks, per_expert_blocks;
  for (const auto& c : present) {
    const std::string p = experts_prefix(c);
    if (p.empty()) continue;
    const std::string rest = c.substr(p.size());
    (rest == "gate_up_proj" || rest == "down_proj" ? fused_blocks : per_expert_blocks).insert(p);
  }
  for (const auto& p : fused_blocks)
    if (per_expert_blocks.count(p))
      throw std::runtime_error("experts of " + p.substr(0, p.size() - 1) +
                               " are stored both fused (gate_up_proj) and per expert");

  for (const auto& [name, spec] : expected) {
    if (present.count(name)) continue;
    if (starts_with(name, "model.visual.") && !check.has_vision) continue;
    if (starts_with(name, "mtp.") && !check.has_mtp) continue;
    const std::string p = experts_prefix(name);
    if (!p.empty()) {
      const std::string rest = name.substr(p.size());
      const bool fused_name = rest == "gate_up_proj" || rest == "down_proj";
      // Per-expert names are only required of a per-expert block; a block with neither form is
      // reported through its fused names (two lines instead of 3·E).
      if (fused_name == (per_expert_blocks.count(p) != 0)) continue;
    }
    missing.push_back(name);
  }
  if (!missing.empty())
    throw std::runtime_error(std::to_string(missing.size()) + " tensor(s) that config.json implies "
                             "are missing: " + examples(missing) +
                             " (is a shard missing from the folder or from the index?)");
  return check;
}

}  // namespace tf
