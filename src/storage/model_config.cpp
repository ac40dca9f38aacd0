// config.json of Qwen3.5 checkpoints (spec §1, §5.5). Every field is type-checked; a missing
// required field or a wrong type names the field and the file.
#include "storage/model_config.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "base/json_read.h"
#include "storage/tensor_names.h"

namespace tf {

using nlohmann::json;

namespace {

// Looks fields up in an ordered list of JSON objects (e.g. `text_config`, then the top level,
// where mlx-lm may have flattened the text fields); the first object that has the key wins.
class Fields {
 public:
  Fields(std::string source, std::vector<std::pair<std::string, const json*>> scopes)
      : source_(std::move(source)), scopes_(std::move(scopes)) {}

  const json* find(const std::string& key, std::string* where = nullptr) const {
    for (const auto& [prefix, obj] : scopes_) {
      if (!obj || !obj->is_object()) continue;
      auto it = obj->find(key);
      if (it != obj->end() && !it->is_null()) {
        if (where) *where = prefix + key;
        return &*it;
      }
    }
    return nullptr;
  }

  int req_int(const std::string& key) const { return as_int(key, require(key)); }
  int opt_int(const std::string& key, int def) const {
    const json* v = find(key);
    return v ? as_int(key, v) : def;
  }
  double req_num(const std::string& key) const { return as_num(key, require(key)); }
  double opt_num(const std::string& key, double def) const {
    const json* v = find(key);
    return v ? as_num(key, v) : def;
  }
  bool opt_bool(const std::string& key, bool def) const {
    const json* v = find(key);
    if (!v) return def;
    if (!v->is_boolean()) bad_type(key, "true or false", *v);
    return v->get<bool>();
  }
  std::string opt_str(const std::string& key, const std::string& def) const {
    const json* v = find(key);
    if (!v) return def;
    if (!v->is_string()) bad_type(key, "a string", *v);
    return v->get<std::string>();
  }
  std::vector<int> opt_int_list(const std::string& key) const {
    const json* v = find(key);
    std::vector<int> out;
    if (!v) return out;
    if (v->is_number()) return {as_int(key, v)};  // e.g. eos_token_id: 248044
    if (!v->is_array()) bad_type(key, "a list of integers", *v);
    if (v->size() > ConfigLimits::kListEntries)
      throw std::runtime_error(source_ + ": field \"" + key + "\" has " + std::to_string(v->size()) +
                               " entries; at most " + std::to_string(ConfigLimits::kListEntries) + " make sense");
    for (const auto& e : *v) out.push_back(as_int(key, &e));
    return out;
  }

  const json* require(const std::string& key) const {
    const json* v = find(key);
    if (!v) {
      std::string looked;
      for (const auto& [prefix, obj] : scopes_)
        if (obj && obj->is_object())
          looked += (looked.empty() ? "" : " and ") + (prefix.empty() ? std::string("the top level") : prefix.substr(0, prefix.size() - 1));
      throw std::runtime_error(source_ + ": missing required field \"" + key + "\" (looked in " +
                               looked + ")");
    }
    return v;
  }

  [[noreturn]] void bad_type(const std::string& key, const char* expected, const json& v) const {
    std::string where;
    find(key, &where);
    if (where.empty()) where = key;
    std::string shown = v.dump();
    if (shown.size() > 60) shown = shown.substr(0, 57) + "...";
    throw std::runtime_error(source_ + ": field \"" + where + "\" must be " + expected + ", got " + shown);
  }

 private:
  int as_int(const std::string& key, const json* v) const {
    // Integral floats (4.0) are accepted: some writers emit every number as a float.
    if (v->is_number_integer()) {
      const int64_t x = v->get<int64_t>();
      if (x >= INT32_MIN && x <= INT32_MAX) return static_cast<int>(x);
    } else if (v->is_number_float()) {
      // In range first: converting a double outside int64's range (1e300) is undefined.
      const double x = v->get<double>();
      if (x >= INT32_MIN && x <= INT32_MAX && x == std::trunc(x)) return static_cast<int>(x);
    }
    bad_type(key, "an integer", *v);
  }
  double as_num(const std::string& key, const json* v) const {
    if (!v->is_number()) bad_type(key, "a number", *v);
    return v->get<double>();
  }

  std::string source_;
  std::vector<std::pair<std::string, const json*>> scopes_;
};

const json* object_at(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_object() ? &*it : nullptr;
}

void parse_rope(const Fields& text, const std::string& source, TextConfig& t) {
  // Current files: rope_parameters {rope_theta, partial_rotary_factor, mrope_section,
  // mrope_interleaved}; older ones: rope_scaling {mrope_section, ...} + rope_theta beside it.
  std::string where;
  const json* rp = text.find("rope_parameters", &where);
  if (!rp) rp = text.find("rope_scaling", &where);
  if (rp && !rp->is_object()) text.bad_type(where.substr(where.rfind('.') + 1), "an object", *rp);
  Fields rope(source, {{where + ".", rp}});
  const Fields& outer = text;

  if (rope.find("rope_theta")) t.rope_theta = rope.req_num("rope_theta");
  else if (outer.find("rope_theta")) t.rope_theta = outer.req_num("rope_theta");
  else
    throw std::runtime_error(source + ": missing required field \"rope_theta\" (looked in "
                             "rope_parameters, rope_scaling and beside them)");
  t.partial_rotary_factor = static_cast<float>(
      rope.find("partial_rotary_factor") ? rope.req_num("partial_rotary_factor")
                                         : outer.opt_num("partial_rotary_factor", 0.25));
  t.mrope_section = rope.opt_int_list("mrope_section");
  t.mrope_interleaved = rope.opt_bool("mrope_interleaved", true);
  if (t.partial_rotary_factor <= 0 || t.partial_rotary_factor > 1)
    throw std::runtime_error(source + ": partial_rotary_factor " +
                             std::to_string(t.partial_rotary_factor) + " is not in (0, 1]");
}

void parse_layer_types(const Fields& text, const std::string& source, TextConfig& t) {
  std::string where;
  if (const json* lt = text.find("layer_types", &where)) {
    if (!lt->is_array()) text.bad_type("layer_types", "a list", *lt);
    for (const auto& e : *lt) {
      const std::string s = e.is_string() ? e.get<std::string>() : e.dump();
      if (s == "linear_attention") t.layer_types.push_back(LayerType::LinearAttention);
      else if (s == "full_attention") t.layer_types.push_back(LayerType::FullAttention);
      else
        throw std::runtime_error(source + ": " + where + " holds \"" + s +
                                 "\"; expected linear_attention or full_attention");
    }
    if (static_cast<int>(t.layer_types.size()) != t.num_hidden_layers)
      throw std::runtime_error(source + ": " + where + " has " + std::to_string(t.layer_types.size()) +
                               " entries but num_hidden_layers is " + std::to_string(t.num_hidden_layers));
    return;
  }
  // Layer i is full attention iff (i + 1) mod interval = 0 (spec §1.1).
  const int interval = text.opt_int("full_attention_interval", 4);
  if (interval <= 0)
    throw std::runtime_error(source + ": full_attention_interval must be positive");
  for (int i = 0; i < t.num_hidden_layers; ++i)
    t.layer_types.push_back((i + 1) % interval == 0 ? LayerType::FullAttention
                                                    : LayerType::LinearAttention);
}

struct Bound {
  const char* name;
  int value;
  int max;
};

// Every dimension must be positive (or, where `may_be_zero`, zero) and at most its limit.
void check_bounds(const std::string& source, std::initializer_list<Bound> bounds, bool may_be_zero = false) {
  for (const auto& [name, value, max] : bounds) {
    if (value < 0 || (value == 0 && !may_be_zero))
      throw std::runtime_error(source + ": field \"" + name + "\" must be positive, not " + std::to_string(value));
    if (value > max)
      throw std::runtime_error(source + ": field \"" + name + "\" is " + std::to_string(value) +
                               "; no real model has more than " + std::to_string(max) +
                               " (is the file corrupt?)");
  }
}

TextConfig parse_text(const json& j, const std::string& source) {
  Fields f(source, {{"text_config.", object_at(j, "text_config")}, {"", &j}});
  TextConfig t;
  t.model_type = f.opt_str("model_type", "");
  t.hidden_size = f.req_int("hidden_size");
  t.num_hidden_layers = f.req_int("num_hidden_layers");
  t.vocab_size = f.req_int("vocab_size");
  t.rms_norm_eps = static_cast<float>(f.opt_num("rms_norm_eps", 1e-6));
  t.tie_word_embeddings = f.opt_bool("tie_word_embeddings", false);
  t.max_position_embeddings = f.opt_int("max_position_embeddings", 0);

  t.num_attention_heads = f.req_int("num_attention_heads");
  t.num_key_value_heads = f.req_int("num_key_value_heads");
  t.head_dim = f.opt_int("head_dim", t.num_attention_heads ? t.hidden_size / t.num_attention_heads : 0);
  t.attn_output_gate = f.opt_bool("attn_output_gate", true);
  parse_rope(f, source, t);

  t.linear_num_key_heads = f.req_int("linear_num_key_heads");
  t.linear_num_value_heads = f.req_int("linear_num_value_heads");
  t.linear_key_head_dim = f.req_int("linear_key_head_dim");
  t.linear_value_head_dim = f.req_int("linear_value_head_dim");
  t.linear_conv_kernel_dim = f.opt_int("linear_conv_kernel_dim", 4);

  t.num_experts = f.opt_int("num_experts", 0);
  if (t.num_experts > 0) {
    t.num_experts_per_tok = f.req_int("num_experts_per_tok");
    t.moe_intermediate_size = f.req_int("moe_intermediate_size");
    t.shared_expert_intermediate_size = f.req_int("shared_expert_intermediate_size");
    t.intermediate_size = f.opt_int("intermediate_size", 0);
  } else {
    t.intermediate_size = f.req_int("intermediate_size");  // dense Qwen3.5 (spec §1.5)
  }
  t.norm_topk_prob = f.opt_bool("norm_topk_prob", true);
  t.mlp_only_layers = f.opt_int_list("mlp_only_layers");
  t.eos_token_ids = f.opt_int_list("eos_token_id");

  using L = ConfigLimits;
  check_bounds(source, {{"hidden_size", t.hidden_size, L::kWidth},
                        {"num_hidden_layers", t.num_hidden_layers, L::kLayers},
                        {"vocab_size", t.vocab_size, L::kVocab},
                        {"num_attention_heads", t.num_attention_heads, L::kHeads},
                        {"num_key_value_heads", t.num_key_value_heads, L::kHeads},
                        {"head_dim", t.head_dim, L::kHeadDim},
                        {"linear_num_key_heads", t.linear_num_key_heads, L::kHeads},
                        {"linear_num_value_heads", t.linear_num_value_heads, L::kHeads},
                        {"linear_key_head_dim", t.linear_key_head_dim, L::kHeadDim},
                        {"linear_value_head_dim", t.linear_value_head_dim, L::kHeadDim},
                        {"linear_conv_kernel_dim", t.linear_conv_kernel_dim, L::kSmall}});
  check_bounds(source, {{"num_experts", t.num_experts, L::kExperts},
                        {"num_experts_per_tok", t.num_experts_per_tok, t.num_experts},
                        {"moe_intermediate_size", t.moe_intermediate_size, L::kMlpWidth},
                        {"shared_expert_intermediate_size", t.shared_expert_intermediate_size, L::kMlpWidth},
                        {"intermediate_size", t.intermediate_size, L::kMlpWidth},
                        {"max_position_embeddings", t.max_position_embeddings, L::kPositions}},
               /*may_be_zero=*/true);
  parse_layer_types(f, source, t);  // after the bounds: it makes one entry per layer
  return t;
}

VisionConfig parse_vision(const json& v, const std::string& source) {
  Fields f(source, {{"vision_config.", &v}});
  VisionConfig c;
  c.depth = f.req_int("depth");
  c.hidden_size = f.req_int("hidden_size");
  c.num_heads = f.req_int("num_heads");
  c.intermediate_size = f.req_int("intermediate_size");
  c.out_hidden_size = f.req_int("out_hidden_size");
  c.num_position_embeddings = f.req_int("num_position_embeddings");
  c.in_channels = f.opt_int("in_channels", 3);
  c.patch_size = f.opt_int("patch_size", 16);
  c.temporal_patch_size = f.opt_int("temporal_patch_size", 2);
  c.spatial_merge_size = f.opt_int("spatial_merge_size", 2);
  c.deepstack_visual_indexes = f.opt_int_list("deepstack_visual_indexes");
  using L = ConfigLimits;
  check_bounds(source, {{"vision_config.depth", c.depth, L::kLayers},
                        {"vision_config.hidden_size", c.hidden_size, L::kWidth},
                        {"vision_config.num_heads", c.num_heads, L::kHeads},
                        {"vision_config.intermediate_size", c.intermediate_size, L::kMlpWidth},
                        {"vision_config.out_hidden_size", c.out_hidden_size, L::kWidth},
                        {"vision_config.num_position_embeddings", c.num_position_embeddings, L::kPositions},
                        {"vision_config.in_channels", c.in_channels, L::kSmall},
                        {"vision_config.patch_size", c.patch_size, L::kSmall},
                        {"vision_config.temporal_patch_size", c.temporal_patch_size, L::kSmall},
                        {"vision_config.spatial_merge_size", c.spatial_merge_size, L::kSmall}});
  if (c.hidden_size % c.num_heads != 0)
    throw std::runtime_error(source + ": vision_config.hidden_size " + std::to_string(c.hidden_size) +
                             " is not a multiple of num_heads " + std::to_string(c.num_heads));
  return c;
}

// An MLX-style block has bits / group_size keys; a foreign `quantization_config` (fp8, awq, ...)
// has a quant_method and is not ours to interpret.
bool looks_like_mlx_quantization(const json& q) {
  return q.is_object() && !q.contains("quant_method") && (q.contains("bits") || q.contains("group_size"));
}

QuantSpec parse_spec(const json& obj, const std::string& where, const std::string& source,
                     QuantSpec spec) {
  Fields f(source, {{where.empty() ? "" : where + ".", &obj}});
  spec.bits = f.opt_int("bits", spec.bits);
  spec.group_size = f.opt_int("group_size", spec.group_size);
  spec.mode = f.opt_str("mode", spec.mode);
  const std::string what = where.empty() ? "the quantization defaults" : "\"" + where + "\"";
  if (spec.mode != "affine")
    throw std::runtime_error(source + ": quantization mode \"" + spec.mode + "\" (" + what +
                             ") is not supported; tightfit reads MLX affine quantization only "
                             "(re-convert with mode affine)");
  if (!is_valid_affine_bits(spec.bits))
    throw std::runtime_error(source + ": " + what + " asks for " + std::to_string(spec.bits) +
                             " bits; MLX affine quantization has 2, 3, 4, 5, 6 or 8");
  if (!is_valid_group_size(spec.group_size))
    throw std::runtime_error(source + ": " + what + " asks for group size " +
                             std::to_string(spec.group_size) + "; MLX has 32, 64 or 128");
  return spec;
}

}  // namespace

bool is_valid_affine_bits(int bits) {
  return bits == 2 || bits == 3 || bits == 4 || bits == 5 || bits == 6 || bits == 8;
}
bool is_valid_group_size(int g) { return g == 32 || g == 64 || g == 128; }

bool TextConfig::is_moe_layer(int layer) const {
  return num_experts > 0 &&
         std::find(mlp_only_layers.begin(), mlp_only_layers.end(), layer) == mlp_only_layers.end();
}

QuantizationConfig QuantizationConfig::from_json(const json& j, const std::string& source) {
  if (!j.is_object()) throw std::runtime_error(source + ": \"quantization\" is not an object");
  QuantizationConfig q;
  q.defaults = parse_spec(j, "", source, QuantSpec{});
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& key = it.key();
    if (key == "bits" || key == "group_size" || key == "mode") continue;
    if (it->is_boolean()) {
      q.overrides[key] = it->get<bool>() ? std::optional<QuantSpec>(q.defaults) : std::nullopt;
    } else if (it->is_object()) {
      // nn.quantize hands a per-path dict straight to to_quantized(), whose own defaults fill
      // the gaps — not the block's defaults.
      q.overrides[key] = parse_spec(*it, key, source, QuantSpec{});
    }
    // Other scalars (e.g. "quant_method" in copied blocks) describe no module.
  }
  return q;
}

const std::optional<QuantSpec>* QuantizationConfig::find_override(
    const std::string& module_path) const {
  // The spellings mlx-vlm treats as the same module.
  std::vector<std::string> candidates = {module_path, mlx_name_from_hf(module_path),
                                         hf_name_from_mlx(module_path)};
  const std::string mlx = candidates[1];
  if (starts_with(mlx, "language_model.")) candidates.push_back(mlx.substr(15));
  else candidates.push_back("language_model." + mlx);
  for (const auto& c : candidates) {
    auto it = overrides.find(c);
    if (it != overrides.end()) return &it->second;
  }
  return nullptr;
}

std::optional<QuantSpec> QuantizationConfig::lookup(const std::string& module_path) const {
  const std::optional<QuantSpec>* entry = find_override(module_path);
  return entry ? *entry : defaults;
}

json QuantizationConfig::to_json() const {
  json j = {{"group_size", defaults.group_size}, {"bits", defaults.bits}, {"mode", defaults.mode}};
  for (const auto& [path, spec] : overrides) {
    if (!spec) j[path] = false;
    else j[path] = {{"group_size", spec->group_size}, {"bits", spec->bits}, {"mode", spec->mode}};
  }
  return j;
}

ModelConfig ModelConfig::from_json(const json& j, const std::string& source) {
  if (!j.is_object()) throw std::runtime_error(source + ": not a JSON object");
  check_json_value_nesting(j, source);  // whoever parsed it, `raw` below copies it recursively
  ModelConfig c;
  c.raw = std::make_shared<const nlohmann::json>(j);
  Fields top(source, {{"", &j}});
  if (const json* a = top.find("architectures")) {
    if (!a->is_array()) top.bad_type("architectures", "a list of strings", *a);
    for (const auto& e : *a) {
      if (!e.is_string()) top.bad_type("architectures", "a list of strings", *a);
      c.architectures.push_back(e.get<std::string>());
    }
  }
  c.text = parse_text(j, source);
  c.model_type = top.opt_str("model_type", c.text.model_type);
  if (c.model_type.empty()) top.require("model_type");
  if (c.text.model_type.empty()) c.text.model_type = c.model_type;

  if (const json* v = object_at(j, "vision_config")) c.vision = parse_vision(*v, source);
  c.image_token_id = top.opt_int("image_token_id", -1);
  c.video_token_id = top.opt_int("video_token_id", -1);
  c.vision_start_token_id = top.opt_int("vision_start_token_id", -1);
  c.vision_end_token_id = top.opt_int("vision_end_token_id", -1);
  if (c.text.eos_token_ids.empty()) c.text.eos_token_ids = top.opt_int_list("eos_token_id");

  // MLX writes `quantization` and an identical `quantization_config`; mlx-lm also looks inside
  // text_config. A foreign quantization_config (fp8, awq, ...) is left alone.
  const json* text_obj = object_at(j, "text_config");
  for (const json* scope : {&j, text_obj}) {
    if (!scope || c.quantization) continue;
    for (const char* key : {"quantization", "quantization_config"}) {
      auto it = scope->find(key);
      if (it == scope->end() || c.quantization) continue;
      if (std::string(key) == "quantization" || looks_like_mlx_quantization(*it))
        c.quantization = QuantizationConfig::from_json(*it, source);
    }
  }
  return c;
}

ModelConfig ModelConfig::load(const std::string& dir) {
  const std::string path = dir + "/config.json";
  if (!std::ifstream(path)) throw std::runtime_error(path + ": cannot open (is this a model folder?)");
  return from_json(read_json_file(path), path);
}

}  // namespace tf
