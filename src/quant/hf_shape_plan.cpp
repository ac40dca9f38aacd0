// HF checkpoint tensor list from config dims (spec §2.2–§2.6, §1.5 for dense layers).
#include "quant/hf_shape_plan.h"

#include <algorithm>
#include <string>

#include <nlohmann/json.hpp>

namespace tf {

namespace {

struct Lister {
  std::vector<TensorSpec>& out;
  DType dtype;
  void add(const std::string& name, std::vector<int64_t> shape) { out.push_back({name, dtype, std::move(shape)}); }
};

// One decoder layer's tensors under `p` (ending in '.'): mixer, norms and feed-forward.
void list_layer(Lister& l, const std::string& p, const TextConfig& c, bool full_attention, bool moe,
                bool fused_experts, DType a_log_dtype) {
  const int64_t H = c.hidden_size;
  l.add(p + "input_layernorm.weight", {H});
  l.add(p + "post_attention_layernorm.weight", {H});
  if (full_attention) {
    const int64_t q_rows = int64_t{c.num_attention_heads} * c.head_dim * (c.attn_output_gate ? 2 : 1);
    const int64_t kv_rows = int64_t{c.num_key_value_heads} * c.head_dim;
    l.add(p + "self_attn.q_proj.weight", {q_rows, H});
    l.add(p + "self_attn.k_proj.weight", {kv_rows, H});
    l.add(p + "self_attn.v_proj.weight", {kv_rows, H});
    l.add(p + "self_attn.o_proj.weight", {H, int64_t{c.num_attention_heads} * c.head_dim});
    l.add(p + "self_attn.q_norm.weight", {c.head_dim});
    l.add(p + "self_attn.k_norm.weight", {c.head_dim});
  } else {
    const int64_t key_dim = int64_t{c.linear_num_key_heads} * c.linear_key_head_dim;
    const int64_t value_dim = int64_t{c.linear_num_value_heads} * c.linear_value_head_dim;
    const int64_t Hv = c.linear_num_value_heads;
    const std::string a = p + "linear_attn.";
    l.add(a + "in_proj_qkv.weight", {2 * key_dim + value_dim, H});
    l.add(a + "in_proj_z.weight", {value_dim, H});
    l.add(a + "in_proj_b.weight", {Hv, H});
    l.add(a + "in_proj_a.weight", {Hv, H});
    l.add(a + "conv1d.weight", {2 * key_dim + value_dim, 1, c.linear_conv_kernel_dim});
    l.add(a + "dt_bias", {Hv});
    l.out.push_back({a + "A_log", a_log_dtype, {Hv}});
    l.add(a + "norm.weight", {c.linear_value_head_dim});
    l.add(a + "out_proj.weight", {H, value_dim});
  }
  const std::string m = p + "mlp.";
  if (!moe) {
    const int64_t I = c.intermediate_size;
    l.add(m + "gate_proj.weight", {I, H});
    l.add(m + "up_proj.weight", {I, H});
    l.add(m + "down_proj.weight", {H, I});
    return;
  }
  const int64_t E = c.num_experts, I = c.moe_intermediate_size;
  l.add(m + "gate.weight", {E, H});
  if (fused_experts) {
    l.add(m + "experts.gate_up_proj", {E, 2 * I, H});
    l.add(m + "experts.down_proj", {E, H, I});
  } else {
    for (int64_t e = 0; e < E; ++e) {
      const std::string x = m + "experts." + std::to_string(e) + ".";
      l.add(x + "gate_proj.weight", {I, H});
      l.add(x + "up_proj.weight", {I, H});
      l.add(x + "down_proj.weight", {H, I});
    }
  }
  if (c.shared_expert_intermediate_size > 0) {
    const int64_t Is = c.shared_expert_intermediate_size;
    l.add(m + "shared_expert.gate_proj.weight", {Is, H});
    l.add(m + "shared_expert.up_proj.weight", {Is, H});
    l.add(m + "shared_expert.down_proj.weight", {H, Is});
    l.add(m + "shared_expert_gate.weight", {1, H});
  }
}

void list_vision(Lister& l, const VisionConfig& v) {
  const std::string p = "model.visual.";
  const int64_t D = v.hidden_size, I = v.intermediate_size;
  const int64_t merged = D * v.spatial_merge_size * v.spatial_merge_size;
  l.add(p + "patch_embed.proj.weight",
        {D, v.in_channels, v.temporal_patch_size, v.patch_size, v.patch_size});
  l.add(p + "patch_embed.proj.bias", {D});
  l.add(p + "pos_embed.weight", {v.num_position_embeddings, D});
  for (int j = 0; j < v.depth; ++j) {
    const std::string b = p + "blocks." + std::to_string(j) + ".";
    for (const char* n : {"norm1", "norm2"}) {
      l.add(b + n + ".weight", {D});
      l.add(b + n + ".bias", {D});
    }
    l.add(b + "attn.qkv.weight", {3 * D, D});
    l.add(b + "attn.qkv.bias", {3 * D});
    l.add(b + "attn.proj.weight", {D, D});
    l.add(b + "attn.proj.bias", {D});
    l.add(b + "mlp.linear_fc1.weight", {I, D});
    l.add(b + "mlp.linear_fc1.bias", {I});
    l.add(b + "mlp.linear_fc2.weight", {D, I});
    l.add(b + "mlp.linear_fc2.bias", {D});
  }
  l.add(p + "merger.norm.weight", {D});
  l.add(p + "merger.norm.bias", {D});
  l.add(p + "merger.linear_fc1.weight", {merged, merged});
  l.add(p + "merger.linear_fc1.bias", {merged});
  l.add(p + "merger.linear_fc2.weight", {v.out_hidden_size, merged});
  l.add(p + "merger.linear_fc2.bias", {v.out_hidden_size});
}

}  // namespace

int mtp_layer_count(const ModelConfig& config) {
  if (!config.raw) return 0;  // a config built in code, not read from a file
  for (const char* scope : {"text_config", ""}) {
    const nlohmann::json* obj = config.raw.get();
    if (*scope) {
      auto it = config.raw->find(scope);
      if (it == config.raw->end() || !it->is_object()) continue;
      obj = &*it;
    }
    auto v = obj->find("mtp_num_hidden_layers");
    if (v != obj->end() && v->is_number_integer()) return std::max(0, v->get<int>());
  }
  return 0;
}

std::vector<TensorSpec> hf_tensor_specs(const ModelConfig& config, const HfShapePlanOptions& o) {
  const TextConfig& c = config.text;
  std::vector<TensorSpec> out;
  Lister l{out, o.dtype};
  const int64_t H = c.hidden_size;
  const std::string t = "model.language_model.";
  l.add(t + "embed_tokens.weight", {c.vocab_size, H});
  for (int i = 0; i < c.num_hidden_layers; ++i)
    list_layer(l, t + "layers." + std::to_string(i) + ".", c,
               c.layer_types.at(i) == LayerType::FullAttention, c.is_moe_layer(i), o.fused_experts,
               o.a_log_dtype);
  l.add(t + "norm.weight", {H});
  if (!c.tie_word_embeddings) l.add("lm_head.weight", {c.vocab_size, H});
  if (o.vision && config.vision) list_vision(l, *config.vision);
  if (o.mtp) {
    const int n = mtp_layer_count(config);
    if (n > 0) {
      l.add("mtp.fc.weight", {H, 2 * H});
      l.add("mtp.pre_fc_norm_embedding.weight", {H});
      l.add("mtp.pre_fc_norm_hidden.weight", {H});
      l.add("mtp.norm.weight", {H});
    }
    // The MTP layer is a full-attention MoE layer stored with per-expert tensors (spec §2.5).
    for (int i = 0; i < n; ++i)
      list_layer(l, "mtp.layers." + std::to_string(i) + ".", c, true, c.num_experts > 0, o.fused_mtp_experts,
                 o.a_log_dtype);
  }
  return out;
}

}  // namespace tf
