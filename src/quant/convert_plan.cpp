// HF → MLX tensor mapping and recipe resolution (see convert_plan.h).
#include "quant/convert_plan.h"

#include <algorithm>
#include <map>
#include <set>
#include <stdexcept>

#include "base/input_error.h"
#include "storage/tensor_names.h"

namespace tf {

namespace {

constexpr size_t kExamples = 6;

std::string examples(const std::vector<std::string>& items) {
  std::string out;
  for (size_t i = 0; i < items.size() && i < kExamples; ++i) out += (i ? ", " : "") + items[i];
  if (items.size() > kExamples) out += " and " + std::to_string(items.size() - kExamples) + " more";
  return out;
}

// Zero-centred RMSNorm weights, which MLX stores as 1 + w (spec §2.1 item 2, §9.1). The GDN
// gated norm (`linear_attn.norm`) and the vision LayerNorms are plain.
bool is_zero_centred_norm(const std::string& mlx_name) {
  for (const char* s : {".input_layernorm.weight", ".post_attention_layernorm.weight",
                        ".q_norm.weight", ".k_norm.weight"})
    if (ends_with(mlx_name, s)) return true;
  return mlx_name == "language_model.model.norm.weight" || mlx_name == "mtp.norm.weight" ||
         mlx_name == "mtp.pre_fc_norm_embedding.weight" || mlx_name == "mtp.pre_fc_norm_hidden.weight";
}

std::string module_of(const std::string& name) {
  if (ends_with(name, ".weight")) return name.substr(0, name.size() - 7);
  if (ends_with(name, ".bias")) return name.substr(0, name.size() - 5);
  return name;
}

// What recipe rules see of a tensor. MTP tensors are classified by what they are inside the MTP
// layer (its attention is full_attention, its experts routed_experts, …) and have no decoder
// layer index, so layer conditions never select them.
ModuleInfo module_info(const std::string& mlx_name) {
  ModuleInfo m;
  m.path = module_of(mlx_name);
  m.hf_path = hf_name_from_mlx(m.path);
  if (starts_with(mlx_name, "mtp.")) {
    m.mtp = true;
    const std::string inner = mlx_name.substr(4);
    m.role = classify_tensor(inner).role;
    if (m.role == TensorRole::Other && module_of(inner).find("norm") != std::string::npos)
      m.role = TensorRole::Norm;
    return m;
  }
  const TensorRoleInfo info = classify_tensor(mlx_name);
  m.role = info.role;
  m.layer = info.layer;
  return m;
}

// Linear, Embedding and SwitchLinear weights: what MLX's quantize visits (spec §5.6).
bool is_quantizable(const PlannedTensor& t) {
  if (!ends_with(t.name, ".weight") || !is_float_dtype(t.source_dtype)) return false;
  if (ends_with(t.name, ".conv1d.weight") || ends_with(t.name, "patch_embed.proj.weight")) return false;
  if (t.shape.size() == 2) return true;
  return t.shape.size() == 3 && t.name.find(".switch_mlp.") != std::string::npos;
}

PlannedTensor make_tensor(const std::string& mlx_name, std::vector<int64_t> shape, const TensorSpec& src,
                          DType out_dtype) {
  PlannedTensor t;
  t.name = mlx_name;
  t.module = module_of(mlx_name);
  t.info = module_info(mlx_name);
  t.role = classify_tensor(mlx_name).role;
  t.shape = std::move(shape);
  t.source_dtype = src.dtype;
  t.dtype = out_dtype;
  return t;
}

}  // namespace

std::vector<TensorSpec> PlannedTensor::outputs(DType scale_dtype) const {
  if (!quantized()) return {{name, dtype, shape}};
  std::vector<int64_t> w = shape, s = shape;
  w.back() = cols() * bits / 32;
  s.back() = cols() / group_size;
  return {{module + ".weight", DType::U32, w},
          {module + ".scales", scale_dtype, s},
          {module + ".biases", scale_dtype, s}};
}

std::vector<TensorSpec> ConvertPlan::output_specs() const {
  std::vector<TensorSpec> out;
  for (const auto& t : tensors)
    for (auto& s : t.outputs(dtype)) out.push_back(std::move(s));
  return out;
}

uint64_t ConvertPlan::input_bytes() const {
  uint64_t n = 0;
  for (const auto& t : tensors)
    for (const auto& s : t.sources) n += static_cast<uint64_t>(s.count) * dtype_size(t.source_dtype);
  return n;
}

uint64_t ConvertPlan::output_bytes() const {
  uint64_t n = 0;
  for (const auto& s : output_specs()) n += s.nbytes();
  return n;
}

ConvertPlan plan_conversion(const std::vector<TensorSpec>& input, const ModelConfig& config,
                            const Recipe& recipe, const PlanOptions& o) {
  if (o.dtype != DType::BF16 && o.dtype != DType::F16)
    throw std::invalid_argument("output dtype must be BF16 or F16");
  const InputCheck check = check_input_tensors(input, config);
  ConvertPlan plan;
  plan.dtype = o.dtype;
  plan.has_vision = check.has_vision && !o.text_only;
  plan.has_mtp = check.has_mtp && o.keep_mtp;
  for (const auto& n : check.ignored) plan.dropped.push_back(n + ": buffer / tied head, not a weight");
  if (config.vision && !check.has_vision && !o.text_only)
    plan.warnings.push_back("config.json describes a vision tower but the checkpoint has no "
                            "model.visual.* tensors: writing a text-only (mlx-lm) checkpoint");
  if (o.keep_mtp && !check.has_mtp)
    plan.warnings.push_back("--keep-mtp: the checkpoint has no mtp.* tensors");

  // Per-expert HF tensors, collected per output stack: name → expert → input tensor.
  std::map<std::string, std::map<int, const TensorSpec*>> stacks;
  const std::set<std::string> ignored(check.ignored.begin(), check.ignored.end());
  for (const auto& t : input) {
    if (ignored.count(t.name)) continue;
    const std::string c = canonical_hf_name(t.name);
    if (starts_with(c, "model.visual.") && !plan.has_vision) {
      plan.dropped.push_back(t.name + (o.text_only ? ": vision tower (--text-only)" : ": vision tower"));
      continue;
    }
    if (starts_with(c, "mtp.") && !plan.has_mtp) {
      plan.dropped.push_back(t.name + ": MTP head (pass --keep-mtp to keep it)");
      continue;
    }
    const std::string n = mlx_name_from_hf(c);
    const DType out = ends_with(n, ".A_log") || !is_float_dtype(t.dtype) ? t.dtype : o.dtype;
    if (ends_with(n, ".mlp.experts.gate_up_proj")) {
      const std::string base = n.substr(0, n.size() - 20) + "switch_mlp.";
      const int64_t E = t.shape[0], I = t.shape[1] / 2, H = t.shape[2];
      for (int part = 0; part < 2; ++part) {
        PlannedTensor p = make_tensor(base + (part ? "up_proj.weight" : "gate_proj.weight"), {E, I, H}, t, out);
        for (int64_t e = 0; e < E; ++e) p.sources.push_back({t.name, (e * 2 * I + part * I) * H, I * H});
        plan.tensors.push_back(std::move(p));
      }
      continue;
    }
    if (ends_with(n, ".mlp.experts.down_proj")) {
      PlannedTensor p = make_tensor(n.substr(0, n.size() - 17) + "switch_mlp.down_proj.weight", t.shape, t, out);
      p.sources.push_back({t.name, 0, t.numel()});
      plan.tensors.push_back(std::move(p));
      continue;
    }
    if (const size_t at = n.find(".mlp.experts."); at != std::string::npos) {
      // `….mlp.experts.{e}.{proj}.weight`
      const std::string rest = n.substr(at + 13);
      const size_t dot = rest.find('.');
      const int e = std::stoi(rest.substr(0, dot));
      stacks[n.substr(0, at) + ".mlp.switch_mlp." + rest.substr(dot + 1)][e] = &t;
      continue;
    }
    std::vector<int64_t> shape = t.shape;
    PlanTransform transform = PlanTransform::Copy;
    if (ends_with(n, ".conv1d.weight") && shape.size() == 3 && shape[1] == 1) {
      shape = {shape[0], shape[2], 1};  // moving a size-1 axis keeps the bytes in place
    } else if (ends_with(n, "patch_embed.proj.weight") && shape.size() == 5) {
      shape = {shape[0], shape[2], shape[3], shape[4], shape[1]};
      transform = PlanTransform::PatchEmbed;
    } else if (is_zero_centred_norm(n)) {
      transform = PlanTransform::AddOne;
    } else if (ends_with(n, ".A_log")) {
      transform = PlanTransform::KeepDtype;
    }
    PlannedTensor p = make_tensor(n, shape, t, out);
    p.transform = transform;
    p.sources.push_back({t.name, 0, t.numel()});
    plan.tensors.push_back(std::move(p));
  }
  for (const auto& [name, experts] : stacks) {
    const TensorSpec& first = *experts.begin()->second;
    std::vector<int64_t> shape = {static_cast<int64_t>(experts.size())};
    shape.insert(shape.end(), first.shape.begin(), first.shape.end());
    PlannedTensor p = make_tensor(name, shape, first, is_float_dtype(first.dtype) ? o.dtype : first.dtype);
    for (const auto& [e, t] : experts) p.sources.push_back({t->name, 0, t->numel()});
    plan.tensors.push_back(std::move(p));
  }
  std::sort(plan.tensors.begin(), plan.tensors.end(),
            [](const PlannedTensor& a, const PlannedTensor& b) { return a.name < b.name; });

  // The recipe: first matching rule per module.
  const int L = config.text.num_hidden_layers;
  const int default_group = o.group_size > 0 ? o.group_size : recipe.group_size;
  std::vector<std::set<std::string>> decided(recipe.rules.size());
  std::vector<std::string> unmatched, not_divisible;
  for (auto& t : plan.tensors) {
    t.quantizable = is_quantizable(t);
    t.rule = recipe.first_match(t.info, L);
    if (t.rule >= 0) decided[t.rule].insert(t.module);
    if (!t.quantizable) continue;
    if (t.rule < 0) {
      t.kept_because = "no recipe rule matched";
      unmatched.push_back(t.module);
      continue;
    }
    const QuantAction& a = recipe.rules[t.rule].action;
    if (a.keep) {
      t.kept_because = "rule " + std::to_string(t.rule + 1) + " keeps it";
      continue;
    }
    const int g = a.group_size ? a.group_size : default_group;
    if (t.cols() % g != 0) {
      t.kept_because = "input dim " + std::to_string(t.cols()) + " is not a multiple of group " + std::to_string(g);
      not_divisible.push_back(t.module + " (" + std::to_string(t.cols()) + " inputs)");
      continue;
    }
    t.bits = a.bits;
    t.group_size = g;
  }
  plan.rule_modules.resize(recipe.rules.size());
  std::vector<std::string> unused;
  for (size_t i = 0; i < recipe.rules.size(); ++i) {
    plan.rule_modules[i] = static_cast<int>(decided[i].size());
    if (!decided[i].empty() || recipe.rules[i].optional) continue;
    const bool matches_any = std::any_of(plan.tensors.begin(), plan.tensors.end(), [&](const auto& t) {
      return rule_matches(recipe.rules[i], t.info, L);
    });
    unused.push_back("rule " + std::to_string(i + 1) + " " + recipe.rules[i].text +
                     (matches_any ? " only matches modules an earlier rule already decides"
                                  : " matches no module of this checkpoint"));
  }
  if (!unused.empty())
    throw InputError("recipe " + recipe.name + ": " + examples(unused) +
                     " (fix the rule, or mark it \"optional\": true)");
  if (!unmatched.empty())
    plan.warnings.push_back(std::to_string(unmatched.size()) + " quantizable module(s) matched no recipe "
                            "rule and stay dense: " + examples(unmatched));
  if (!not_divisible.empty())
    plan.warnings.push_back(std::to_string(not_divisible.size()) + " module(s) stay dense because the "
                            "group size does not divide their input dimension (MLX skips them too): " +
                            examples(not_divisible));

  // The config block: the most common spec (by parameters) as defaults, one entry per module
  // that differs, `false` for quantizable modules kept dense (spec §5.5).
  std::map<std::pair<int, int>, int64_t> params_by_spec;
  for (const auto& t : plan.tensors)
    if (t.quantized()) params_by_spec[{t.bits, t.group_size}] += shape_numel(t.shape);
  if (!params_by_spec.empty()) {
    auto best = params_by_spec.begin();
    for (auto it = params_by_spec.begin(); it != params_by_spec.end(); ++it)
      if (it->second > best->second) best = it;
    QuantizationConfig q;
    q.defaults = {best->first.first, best->first.second, "affine"};
    for (const auto& t : plan.tensors) {
      if (!t.quantizable) continue;
      if (!t.quantized()) q.overrides[t.module] = std::nullopt;
      else if (t.bits != q.defaults.bits || t.group_size != q.defaults.group_size)
        q.overrides[t.module] = QuantSpec{t.bits, t.group_size, "affine"};
    }
    plan.quantization = std::move(q);
  }
  return plan;
}

}  // namespace tf
