// Per-role accounting of a checkpoint and MLX's bits per weight (spec §2.7, §5.5, §5.7).
#include "quant/model_summary.h"

#include <set>
#include <stdexcept>

#include "storage/tensor_names.h"

namespace tf {

namespace {

constexpr int kBits[] = {2, 3, 4, 5, 6, 8};
constexpr int kGroups[] = {32, 64, 128};
constexpr size_t kMaxWarnings = 12;

struct BitsGroup {
  int bits = 0, group = 0;
  bool from_config = false;
};

std::string format_name(int bits, int group) {
  return std::to_string(bits) + "-bit g" + std::to_string(group);
}

[[noreturn]] void bad_module(const std::string& module, const std::string& what) {
  throw std::runtime_error("quantized module \"" + module + "\": " + what);
}

// Bits and group of the quantized module `module` from its tensors, checked against the config.
BitsGroup resolve_quantized(const std::string& module,
                            const std::map<std::string, const TensorSpec*>& by_name,
                            const QuantizationConfig* config, std::vector<std::string>& warnings) {
  auto get = [&](const char* param) -> const TensorSpec* {
    auto it = by_name.find(module + "." + param);
    return it == by_name.end() ? nullptr : it->second;
  };
  const TensorSpec* scales = get("scales");
  const TensorSpec* weight = get("weight");
  const TensorSpec* biases = get("biases");
  if (!weight) bad_module(module, "has scales but no weight");
  if (weight->dtype != DType::U32)
    bad_module(module, "weight is " + std::string(dtype_name(weight->dtype)) +
                           ", expected U32 packed codes next to its scales");
  if (!biases)
    bad_module(module, "has scales but no biases: not MLX affine quantization (mxfp4 / nvfp4 "
                       "store no biases); tightfit reads affine only");
  if (!is_float_dtype(scales->dtype))
    bad_module(module, "scales are " + std::string(dtype_name(scales->dtype)) +
                           ", expected BF16, F16 or F32 (affine mode)");
  const auto& ws = weight->shape;
  const auto& ss = scales->shape;
  bool shapes_ok = ws.size() >= 2 && ss.size() == ws.size() && biases->shape == ss &&
                   ss.back() > 0 && ws.back() > 0;
  for (size_t i = 0; shapes_ok && i + 1 < ws.size(); ++i) shapes_ok = ws[i] == ss[i];
  if (!shapes_ok)
    bad_module(module, "weight " + shape_to_string(ws) + ", scales " + shape_to_string(ss) +
                           " and biases " + shape_to_string(biases->shape) +
                           " do not fit together (spec §2.7)");

  // b·g = 32·(K·b/32)/(K/g).
  std::vector<BitsGroup> candidates;
  if ((32 * ws.back()) % ss.back() == 0) {
    const int64_t product = 32 * ws.back() / ss.back();
    for (int b : kBits)
      for (int g : kGroups)
        if (b * g == product) candidates.push_back({b, g, false});
  }
  if (candidates.empty())
    bad_module(module, "weight " + shape_to_string(ws) + " and scales " + shape_to_string(ss) +
                           " fit no MLX bits (2-8) and group size (32/64/128)");

  std::optional<QuantSpec> spec;
  if (config) {
    spec = config->lookup(module);
    if (!spec)
      warnings.push_back("config keeps \"" + module + "\" dense (false) but its tensors are quantized");
  }
  if (spec) {
    for (const auto& c : candidates)
      if (c.bits == spec->bits && c.group == spec->group_size) return {c.bits, c.group, true};
  }
  // The config does not settle it: a unique fit, else the usual group 64.
  BitsGroup pick = candidates.front();
  for (const auto& c : candidates)
    if (c.group == 64) pick = c;
  std::string options;
  for (const auto& c : candidates) options += (options.empty() ? "" : " or ") + format_name(c.bits, c.group);
  if (spec)
    warnings.push_back("config says " + format_name(spec->bits, spec->group_size) + " for \"" + module +
                       "\" but its shapes say " + options + "; using " + format_name(pick.bits, pick.group));
  else if (candidates.size() > 1)
    warnings.push_back("\"" + module + "\" could be " + options + " (no config to tell); assumed " +
                       format_name(pick.bits, pick.group));
  return pick;
}

void add(RoleStats& r, const std::string& format, int64_t params, uint64_t bytes) {
  r.params += params;
  r.bytes += bytes;
  r.tensors += 1;
  if (params) r.formats[format] += params;
}

}  // namespace

ModelSummary summarize_model(const std::vector<TensorSpec>& tensors,
                             const QuantizationConfig* quantization) {
  ModelSummary s;
  std::map<std::string, const TensorSpec*> by_name;
  for (const auto& t : tensors)
    if (!by_name.emplace(t.name, &t).second)
      throw std::runtime_error("tensor \"" + t.name + "\" is listed twice");

  std::map<std::string, BitsGroup> quantized;
  for (const auto& t : tensors) {
    const ModuleParam mp = split_module_param(t.name);
    if (mp.param != "scales") continue;
    const BitsGroup bg = resolve_quantized(mp.module, by_name, quantization, s.warnings);
    quantized[mp.module] = bg;
    const TensorSpec& w = *by_name.at(mp.module + ".weight");
    const int64_t rows = w.shape.size() >= 2 ? w.shape[w.shape.size() - 2] : 1;
    uint64_t bytes = w.nbytes() + t.nbytes();
    if (const auto biases = by_name.find(mp.module + ".biases"); biases != by_name.end()) bytes += biases->second->nbytes();
    s.quantized.push_back({mp.module, role_of(mp.module), bg.bits, bg.group, w.numel() * 32 / bg.bits,
                           bg.from_config, rows, w.shape.empty() ? 0 : w.shape.back() * 32 / bg.bits, bytes});
  }

  // Modules with sub-modules, for MLX's leaf-module parameter count.
  std::set<std::string> modules;
  for (const auto& t : tensors) modules.insert(split_module_param(t.name).module);
  auto has_submodules = [&](const std::string& m) {
    const std::string prefix = m + ".";
    auto it = modules.lower_bound(prefix);
    return it != modules.end() && starts_with(*it, prefix.c_str());
  };

  for (const auto& t : tensors) {
    const TensorRoleInfo info = classify_tensor(t.name);
    const ModuleParam mp = split_module_param(t.name);
    auto q = quantized.find(mp.module);
    int64_t params = t.numel();
    std::string format(dtype_name(t.dtype));
    if (q != quantized.end() && mp.param == "weight") {
      params = t.numel() * 32 / q->second.bits;
      format = format_name(q->second.bits, q->second.group);
    } else if (q != quantized.end() && (mp.param == "scales" || mp.param == "biases")) {
      params = 0;  // part of the quantized weight's storage, not parameters of their own
    }
    const uint64_t bytes = t.nbytes();
    add(s.roles[static_cast<size_t>(info.role)], format, params, bytes);
    add(s.total, format, params, bytes);
    if (info.role != TensorRole::Mtp) {
      s.mlx_bytes += bytes;
      if (!has_submodules(mp.module)) s.mlx_params += params;
    }
  }

  if (s.warnings.size() > kMaxWarnings) {
    const size_t more = s.warnings.size() - kMaxWarnings;
    s.warnings.resize(kMaxWarnings);
    s.warnings.push_back("... and " + std::to_string(more) + " more like these");
  }
  return s;
}

}  // namespace tf
