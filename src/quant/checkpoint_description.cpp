// The checkpoint description of `inspect` (checkpoint_description.h).
#include "quant/checkpoint_description.h"

#include <filesystem>

#include <nlohmann/json.hpp>

#include "quant/tensor_roles.h"

namespace tf {

LayoutEvidence layout_evidence(const Checkpoint& ck) {
  LayoutEvidence e;
  const auto names = ck.names();
  e.flavour = detect_flavour(names);
  for (const auto& n : names) {
    if (e.experts.empty()) {
      if (n.find("mlp.experts.gate_up_proj") != std::string::npos) e.experts = "fused experts";
      else if (n.find("mlp.switch_mlp.") != std::string::npos) e.experts = "stacked switch_mlp experts";
      else if (classify_tensor(n).expert >= 0) e.experts = "per-expert tensors";
    }
    if (e.conv1d.empty() && ends_with(n, "linear_attn.conv1d.weight"))
      e.conv1d = shape_to_string(ck.get(n).shape);
  }
  const auto& meta = ck.files().front()->metadata();
  if (auto it = meta.find("format"); it != meta.end()) e.format = it->second;
  return e;
}

CheckpointDescription describe_checkpoint(const std::string& path) {
  CheckpointDescription d;
  d.checkpoint = Checkpoint::open(path);
  if (std::filesystem::exists(std::filesystem::path(d.checkpoint->dir()) / "config.json"))
    d.config = ModelConfig::load(d.checkpoint->dir());
  const QuantizationConfig* q = d.config && d.config->quantization ? &*d.config->quantization : nullptr;
  d.summary = summarize_model(d.checkpoint->specs(), q);
  d.layout = layout_evidence(*d.checkpoint);
  return d;
}

nlohmann::json describe_checkpoint_json(const std::string& named, const Checkpoint& ck,
                                        const ModelConfig* config, const ModelSummary& s,
                                        const LayoutEvidence& e) {
  nlohmann::json files = nlohmann::json::array();
  for (const auto& f : ck.files()) files.push_back(std::filesystem::path(f->path()).filename().string());
  nlohmann::json j = {{"path", named},
                      {"files", files},
                      {"tensors", ck.names().size()},
                      {"size_on_disk", ck.total_bytes()},
                      {"layout", std::string(flavour_name(e.flavour))},
                      {"experts", e.experts},
                      {"conv1d_shape", e.conv1d},
                      {"metadata_format", e.format},
                      {"summary", summary_to_json(s)}};
  if (!config) {
    j["config"] = nullptr;
    return j;
  }
  const TextConfig& t = config->text;
  std::vector<std::string> types;
  for (LayerType l : t.layer_types)
    types.push_back(l == LayerType::FullAttention ? "full_attention" : "linear_attention");
  j["config"] = {
      {"architectures", config->architectures},
      {"model_type", config->model_type},
      {"text",
       {{"model_type", t.model_type}, {"hidden_size", t.hidden_size},
        {"num_hidden_layers", t.num_hidden_layers}, {"vocab_size", t.vocab_size},
        {"layer_types", types}, {"num_attention_heads", t.num_attention_heads},
        {"num_key_value_heads", t.num_key_value_heads}, {"head_dim", t.head_dim},
        {"rotary_dim", t.rotary_dim()}, {"rope_theta", t.rope_theta},
        {"mrope_section", t.mrope_section}, {"linear_num_key_heads", t.linear_num_key_heads},
        {"linear_num_value_heads", t.linear_num_value_heads},
        {"linear_key_head_dim", t.linear_key_head_dim},
        {"linear_value_head_dim", t.linear_value_head_dim}, {"num_experts", t.num_experts},
        {"num_experts_per_tok", t.num_experts_per_tok},
        {"moe_intermediate_size", t.moe_intermediate_size},
        {"shared_expert_intermediate_size", t.shared_expert_intermediate_size},
        {"intermediate_size", t.intermediate_size},
        {"tie_word_embeddings", t.tie_word_embeddings}}},
      {"vision", nullptr},
      {"quantization", config->quantization ? config->quantization->to_json() : nlohmann::json(nullptr)}};
  if (config->vision) {
    const VisionConfig& v = *config->vision;
    j["config"]["vision"] = {{"depth", v.depth}, {"hidden_size", v.hidden_size}, {"num_heads", v.num_heads},
                             {"intermediate_size", v.intermediate_size},
                             {"out_hidden_size", v.out_hidden_size}, {"patch_size", v.patch_size},
                             {"spatial_merge_size", v.spatial_merge_size}};
  }
  return j;
}

nlohmann::json describe_checkpoint_json(const std::string& named, const CheckpointDescription& d) {
  return describe_checkpoint_json(named, *d.checkpoint, d.config ? &*d.config : nullptr, d.summary,
                                  d.layout);
}

}  // namespace tf
