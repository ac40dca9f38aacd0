#include "model/qwen35_weights.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "kernels/ops_conv.h"
#include "model/tensor_binder.h"

namespace tf {

namespace {

const std::string kHfText = kHfTextPrefix;
const std::string kMlxText = kMlxTextPrefix;

// Tensors a text-model loader skips on purpose: the vision tower (bound elsewhere), the
// multi-token-prediction head (bound apart: model/mtp_weights.h), rotary buffers.
bool ignored_tensor(const std::string& n) {
  return starts_with(n, "model.visual.") || starts_with(n, "model.language_model.visual.") ||
         starts_with(n, "vision_tower.") || starts_with(n, "mtp.") || ends_with(n, "inv_freq");
}

void check_config(const TextConfig& c) {
  auto bad = [](const std::string& what) {
    throw std::runtime_error("config.json: text_config: " + what);
  };
  if (c.hidden_size <= 0 || c.vocab_size <= 0 || c.num_hidden_layers <= 0)
    bad("hidden_size, vocab_size and num_hidden_layers must be positive");
  if (static_cast<int>(c.layer_types.size()) != c.num_hidden_layers)
    bad("layer_types has " + std::to_string(c.layer_types.size()) + " entries for " +
        std::to_string(c.num_hidden_layers) + " layers");
  bool any_linear = false, any_full = false;
  for (LayerType t : c.layer_types) {
    any_linear = any_linear || t == LayerType::LinearAttention;
    any_full = any_full || t == LayerType::FullAttention;
  }
  if (any_linear &&
      (c.linear_num_key_heads <= 0 || c.linear_num_value_heads % c.linear_num_key_heads != 0 ||
       c.linear_key_head_dim <= 0 || c.linear_value_head_dim <= 0 ||
       c.linear_conv_kernel_dim <= 0 || c.linear_conv_kernel_dim > kMaxConvTaps))
    bad("linear-attention dims must be positive, value heads a multiple of key heads, the conv "
        "kernel at most " + std::to_string(kMaxConvTaps) + " taps");
  if (any_full && (c.num_attention_heads <= 0 || c.num_key_value_heads <= 0 ||
                   c.num_attention_heads % c.num_key_value_heads != 0 || c.head_dim <= 0))
    bad("attention heads must be a positive multiple of key/value heads, head_dim positive");
  if (c.num_experts > 0 && (c.num_experts_per_tok <= 0 ||
                            c.num_experts_per_tok > c.num_experts ||
                            c.moe_intermediate_size <= 0))
    bad("num_experts_per_tok must be in 1..num_experts and moe_intermediate_size positive");
}

// The checkpoint's flavour (spec §2.8); throws when its names fit none.
CheckpointFlavour checkpoint_flavour(const Checkpoint& checkpoint) {
  const std::vector<std::string> names = checkpoint.names();
  const CheckpointFlavour flavour = detect_flavour(names);
  if (flavour != CheckpointFlavour::Unknown) return flavour;
  auto any_starts_with = [&](const std::string& prefix) {
    return std::any_of(names.begin(), names.end(),
                       [&](const std::string& n) { return starts_with(n, prefix.c_str()); });
  };
  if (any_starts_with(kHfText) && any_starts_with(kMlxText))
    throw std::runtime_error("checkpoint " + checkpoint.dir() + ": mixes Hugging Face (" + kHfText +
                             "…) and MLX (" + kMlxText + "…) tensor names");
  throw std::runtime_error("checkpoint " + checkpoint.dir() +
                           ": no Qwen3.5 text tensors (expected names starting with " + kHfText +
                           " or " + kMlxText + ")");
}

}  // namespace

LayerWeights bind_decoder_layer(TensorBinder& b, const std::string& L, LayerType type, bool is_moe,
                                const TextConfig& c, float norm_offset) {
  const int64_t H = c.hidden_size;
  auto zero_centred_norm = [&](const std::string& name, int64_t n) {
    std::vector<float> v = b.vector(name, std::vector<int64_t>{n});
    for (float& x : v) x += norm_offset;
    return v;
  };
  const int64_t Hk = c.linear_num_key_heads, Hv = c.linear_num_value_heads;
  const int64_t key_dim = Hk * c.linear_key_head_dim;
  const int64_t value_dim = Hv * c.linear_value_head_dim;
  const int64_t conv_dim = 2 * key_dim + value_dim;
  const int64_t K = c.linear_conv_kernel_dim;
  const int64_t q_rows = c.num_attention_heads * c.head_dim * (c.attn_output_gate ? 2 : 1);
  const int64_t kv_rows = c.num_key_value_heads * c.head_dim;
  const int64_t E = c.num_experts, I = c.moe_intermediate_size;

  LayerWeights lw;
  lw.type = type;
  lw.input_norm = zero_centred_norm(L + "input_layernorm.weight", H);
  lw.post_norm = zero_centred_norm(L + "post_attention_layernorm.weight", H);

  if (lw.type == LayerType::LinearAttention) {
    const std::string a = L + "linear_attn.";
    GatedDeltaNetWeights& g = lw.gdn;
    g.in_proj_qkv = b.linear(a + "in_proj_qkv", {}, conv_dim, H);
    g.in_proj_z = b.linear(a + "in_proj_z", {}, value_dim, H);
    g.in_proj_b = b.linear(a + "in_proj_b", {}, Hv, H);
    g.in_proj_a = b.linear(a + "in_proj_a", {}, Hv, H);
    g.out_proj = b.linear(a + "out_proj", {}, H, value_dim);
    // HF [C, 1, K] and MLX [C, K, 1] flatten to the same [C][K] order (spec §2.1 item 1).
    g.conv = b.vector(a + "conv1d.weight", {{conv_dim, 1, K}, {conv_dim, K, 1}});
    g.neg_exp_a_log = b.vector(a + "A_log", std::vector<int64_t>{Hv});
    for (float& x : g.neg_exp_a_log) x = -std::exp(x);
    g.dt_bias = b.vector(a + "dt_bias", std::vector<int64_t>{Hv});
    g.norm = b.vector(a + "norm.weight", std::vector<int64_t>{c.linear_value_head_dim});
  } else {
    const std::string s = L + "self_attn.";
    GatedAttentionWeights& at = lw.attn;
    at.q_proj = b.linear(s + "q_proj", {}, q_rows, H);
    at.k_proj = b.linear(s + "k_proj", {}, kv_rows, H);
    at.v_proj = b.linear(s + "v_proj", {}, kv_rows, H);
    at.o_proj = b.linear(s + "o_proj", {}, H, c.num_attention_heads * c.head_dim);
    at.q_norm = zero_centred_norm(s + "q_norm.weight", c.head_dim);
    at.k_norm = zero_centred_norm(s + "k_norm.weight", c.head_dim);
  }

  const std::string m = L + "mlp.";
  lw.is_moe = is_moe;
  if (!lw.is_moe) {
    lw.mlp.gate = b.linear(m + "gate_proj", {}, c.intermediate_size, H);
    lw.mlp.up = b.linear(m + "up_proj", {}, c.intermediate_size, H);
    lw.mlp.down = b.linear(m + "down_proj", {}, H, c.intermediate_size);
    return lw;
  }
  MoeWeights& moe = lw.moe;
  moe.router = b.linear(m + "gate", {}, E, H);
  moe.experts.resize(E);
  if (b.has(m + "switch_mlp.gate_proj.weight")) {
    // MLX stacked SwitchGLU (spec §2.5): [E, I, H], [E, I, H], [E, H, I].
    const WeightMatrix gate = b.linear(m + "switch_mlp.gate_proj", {E}, I, H);
    const WeightMatrix up = b.linear(m + "switch_mlp.up_proj", {E}, I, H);
    const WeightMatrix down = b.linear(m + "switch_mlp.down_proj", {E}, H, I);
    for (int64_t e = 0; e < E; ++e)
      moe.experts[e] = {gate.row_slice(e * I, I), up.row_slice(e * I, I),
                        down.row_slice(e * H, H)};
  } else if (b.has(m + "experts.gate_up_proj")) {
    // HF fused: gate_up [E, 2I, H] with gate rows first (spec §9.7); down [E, H, I].
    const WeightMatrix gate_up = b.dense_matrix(m + "experts.gate_up_proj", {E}, 2 * I, H);
    const WeightMatrix down = b.dense_matrix(m + "experts.down_proj", {E}, H, I);
    for (int64_t e = 0; e < E; ++e)
      moe.experts[e] = {gate_up.row_slice(e * 2 * I, I), gate_up.row_slice(e * 2 * I + I, I),
                        down.row_slice(e * H, H)};
  } else {
    // HF per-expert tensors.
    for (int64_t e = 0; e < E; ++e) {
      const std::string x = m + "experts." + std::to_string(e) + ".";
      moe.experts[e] = {b.linear(x + "gate_proj", {}, I, H), b.linear(x + "up_proj", {}, I, H),
                        b.linear(x + "down_proj", {}, H, I)};
    }
  }
  const int64_t Is = c.shared_expert_intermediate_size;
  moe.has_shared_expert = Is > 0;
  if (moe.has_shared_expert) {
    moe.shared_expert = {b.linear(m + "shared_expert.gate_proj", {}, Is, H),
                         b.linear(m + "shared_expert.up_proj", {}, Is, H),
                         b.linear(m + "shared_expert.down_proj", {}, H, Is)};
    moe.shared_expert_gate = b.linear(m + "shared_expert_gate", {}, 1, H);
  }
  return lw;
}

Qwen35Weights Qwen35Weights::bind(const Checkpoint& ck, const ModelConfig& config) {
  const TextConfig& c = config.text;
  check_config(c);
  Qwen35Weights w;
  w.flavour = checkpoint_flavour(ck);
  const bool hf = w.flavour == CheckpointFlavour::HuggingFace;
  const std::string text = hf ? kHfText : kMlxText;
  const std::string head = hf ? "lm_head" : "language_model.lm_head";
  TensorBinder b(ck, config.quantization ? &*config.quantization : nullptr);

  // Zero-centred norms (spec §3.2, §9.1): HF stores w and means 1 + w; MLX stores 1 + w.
  const float norm_offset = hf ? 1.0f : 0.0f;
  auto zero_centred_norm = [&](const std::string& name, int64_t n) {
    std::vector<float> v = b.vector(name, std::vector<int64_t>{n});
    for (float& x : v) x += norm_offset;
    return v;
  };

  const int64_t H = c.hidden_size, V = c.vocab_size;
  w.embed = b.linear(text + "embed_tokens", {}, V, H);
  w.final_norm = zero_centred_norm(text + "norm.weight", H);
  if (c.tie_word_embeddings) {
    w.lm_head = w.embed;
    for (const char* s : {".weight", ".scales", ".biases"})
      if (b.has(head + s)) b.mark_used(head + s);  // present in some files, unused when tied
  } else {
    w.lm_head = b.linear(head, {}, V, H);
  }

  w.layers.resize(c.num_hidden_layers);
  for (int i = 0; i < c.num_hidden_layers; ++i)
    w.layers[i] = bind_decoder_layer(b, text + "layers." + std::to_string(i) + ".",
                                     c.layer_types[i], c.is_moe_layer(i), c, norm_offset);

  for (const auto& n : b.unused_with_prefix("")) {
    if (ignored_tensor(n)) continue;
    throw std::runtime_error("checkpoint " + ck.dir() + ": tensor " + n +
                             " is not part of a Qwen3.5 text model as config.json describes it "
                             "(wrong config, or an unsupported variant)");
  }
  return w;
}

}  // namespace tf
