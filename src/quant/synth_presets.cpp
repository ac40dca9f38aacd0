// Built-in config presets for `tightfit synth --config NAME` (quant/synth.h): the real configs of
// the models tightfit targets, kept in the binary so a synthetic model needs no download.
//
// qwen3.5-35b-a3b: the Hugging Face config.json of a Qwen3.5-35B-A3B-architecture checkpoint, as
// published (a fine-tune's config that equals the transformers Qwen3_5Moe class defaults except
// max_position_embeddings and out_hidden_size; docs/model.md §1).
// Once read it equals tests/data/configs/qwen3.5-35b-a3b/config.json (a test checks that the two
// stay equal); the 40 `layer_types` entries the published file spells out are written from
// full_attention_interval instead of being listed here.
#include "quant/synth.h"

#include <filesystem>
#include <fstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "base/input_error.h"
#include "base/json_read.h"

namespace tf {

namespace {

struct ConfigPreset {
  const char* name;
  const char* json;
};

constexpr ConfigPreset kConfigPresets[] = {
    {"qwen3.5-35b-a3b", R"J(
{
  "architectures": [
    "Qwen3_5MoeForConditionalGeneration"
  ],
  "dtype": "bfloat16",
  "image_token_id": 248056,
  "model_type": "qwen3_5_moe",
  "text_config": {
    "attention_bias": false,
    "attention_dropout": 0.0,
    "attn_output_gate": true,
    "dtype": "bfloat16",
    "eos_token_id": 248044,
    "full_attention_interval": 4,
    "head_dim": 256,
    "hidden_act": "silu",
    "hidden_size": 2048,
    "initializer_range": 0.02,
    "linear_conv_kernel_dim": 4,
    "linear_key_head_dim": 128,
    "linear_num_key_heads": 16,
    "linear_num_value_heads": 32,
    "linear_value_head_dim": 128,
    "mamba_ssm_dtype": "float32",
    "max_position_embeddings": 262144,
    "model_type": "qwen3_5_moe_text",
    "moe_intermediate_size": 512,
    "mtp_num_hidden_layers": 1,
    "mtp_use_dedicated_embeddings": false,
    "num_attention_heads": 16,
    "num_experts": 256,
    "num_experts_per_tok": 8,
    "num_hidden_layers": 40,
    "num_key_value_heads": 2,
    "output_router_logits": false,
    "pad_token_id": null,
    "partial_rotary_factor": 0.25,
    "rms_norm_eps": 1e-06,
    "rope_parameters": {
      "mrope_interleaved": true,
      "mrope_section": [
        11,
        11,
        10
      ],
      "partial_rotary_factor": 0.25,
      "rope_theta": 10000000.0,
      "rope_type": "default"
    },
    "router_aux_loss_coef": 0.001,
    "shared_expert_intermediate_size": 512,
    "tie_word_embeddings": false,
    "use_cache": true,
    "vocab_size": 248320
  },
  "tie_word_embeddings": false,
  "transformers_version": "4.57.0.dev0",
  "video_token_id": 248057,
  "vision_config": {
    "deepstack_visual_indexes": [],
    "depth": 27,
    "hidden_act": "gelu_pytorch_tanh",
    "hidden_size": 1152,
    "in_channels": 3,
    "initializer_range": 0.02,
    "intermediate_size": 4304,
    "model_type": "qwen3_5_moe_vision",
    "num_heads": 16,
    "num_position_embeddings": 2304,
    "out_hidden_size": 2048,
    "patch_size": 16,
    "spatial_merge_size": 2,
    "temporal_patch_size": 2,
    "dtype": "bfloat16"
  },
  "vision_end_token_id": 248054,
  "vision_start_token_id": 248053
})J"},
};

// `layer_types` as transformers fills it in from full_attention_interval: every interval-th layer
// is full attention, the rest linear attention (spec §1.1, the layer_types row).
void add_layer_types(nlohmann::json& text_config) {
  const int layers = text_config.at("num_hidden_layers");
  const int interval = text_config.at("full_attention_interval");
  nlohmann::json types = nlohmann::json::array();
  for (int i = 0; i < layers; ++i)
    types.push_back((i + 1) % interval == 0 ? "full_attention" : "linear_attention");
  text_config["layer_types"] = types;
}

}  // namespace

std::vector<std::string> synth_config_names() {
  std::vector<std::string> names;
  for (const auto& p : kConfigPresets) names.emplace_back(p.name);
  return names;
}

std::optional<nlohmann::json> synth_config_preset(const std::string& name) {
  for (const auto& p : kConfigPresets)
    if (name == p.name) {
      nlohmann::json config = nlohmann::json::parse(p.json);
      add_layer_types(config.at("text_config"));
      return config;
    }
  return std::nullopt;
}

nlohmann::json load_synth_config(const std::string& name_or_path) {
  if (auto preset = synth_config_preset(name_or_path)) return *preset;
  namespace fs = std::filesystem;
  fs::path path(name_or_path);
  if (fs::is_directory(path)) path /= "config.json";
  std::ifstream in(path);
  if (!in) {
    std::string names;
    for (const auto& n : synth_config_names()) names += (names.empty() ? "" : ", ") + n;
    throw InputError("--config " + name_or_path + ": neither a built-in preset (" + names +
                     ") nor a readable config.json or model folder");
  }
  return read_json_file(path);
}

}  // namespace tf
