// Tensor roles from names (spec §2.2–§2.6). The name is split into dot components; the
// spelling-specific prefix is dropped and the role read from what follows `layers.{i}.`.
#include "quant/tensor_roles.h"

#include <array>
#include <charconv>

#include "storage/tensor_names.h"

namespace tf {

namespace {

constexpr std::array<std::string_view, kNumTensorRoles> kRoleNames = {
    "router",         "shared_expert_gate", "norm",          "deltanet_params", "embed",
    "lm_head",        "full_attention",     "linear_attention", "shared_expert",
    "routed_experts", "dense_mlp",          "vision",        "mtp",             "other"};

std::vector<std::string_view> split_dots(std::string_view s) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    const size_t dot = s.find('.', start);
    out.push_back(s.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
    if (dot == std::string_view::npos) return out;
    start = dot + 1;
  }
}

int parse_index(const std::vector<std::string_view>& c, size_t i) {
  if (i >= c.size()) return -1;
  int v = -1;
  auto [p, ec] = std::from_chars(c[i].data(), c[i].data() + c[i].size(), v);
  return ec == std::errc() && p == c[i].data() + c[i].size() ? v : -1;
}

bool ends_with_sv(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Role of what follows `layers.{i}.` in a decoder layer.
TensorRoleInfo classify_layer_part(const std::vector<std::string_view>& rest, TensorRoleInfo info) {
  const std::string_view r0 = rest.size() > 0 ? rest[0] : "";
  const std::string_view r1 = rest.size() > 1 ? rest[1] : "";
  if (ends_with_sv(r0, "layernorm") || ends_with_sv(r0, "_norm")) {
    info.role = TensorRole::Norm;
  } else if (r0 == "self_attn") {
    info.role = (r1 == "q_norm" || r1 == "k_norm") ? TensorRole::Norm : TensorRole::FullAttention;
  } else if (r0 == "linear_attn") {
    if (r1 == "norm") info.role = TensorRole::Norm;
    else if (r1 == "dt_bias" || r1 == "A_log" || r1 == "conv1d") info.role = TensorRole::DeltaNetParams;
    else info.role = TensorRole::LinearAttention;
  } else if (r0 == "mlp") {
    if (r1 == "gate") {
      info.role = TensorRole::Router;
    } else if (r1 == "shared_expert_gate") {
      info.role = TensorRole::SharedExpertGate;
    } else if (r1 == "shared_expert") {
      info.role = TensorRole::SharedExpert;
    } else if (r1 == "experts" || r1 == "switch_mlp") {
      info.role = TensorRole::RoutedExperts;
      if (r1 == "experts") info.expert = parse_index(rest, 2);
    } else if (r1 == "gate_proj" || r1 == "up_proj" || r1 == "down_proj") {
      info.role = TensorRole::DenseMlp;
    }
  }
  return info;
}

}  // namespace

std::string_view role_name(TensorRole role) { return kRoleNames[static_cast<size_t>(role)]; }

std::optional<TensorRole> parse_role(std::string_view name) {
  for (size_t i = 0; i < kRoleNames.size(); ++i)
    if (kRoleNames[i] == name) return static_cast<TensorRole>(i);
  return std::nullopt;
}

TensorRoleInfo classify_tensor(const std::string& name) {
  TensorRoleInfo info;
  if (starts_with(name, "model.language_model.") || starts_with(name, "model.visual.") ||
      starts_with(name, "mtp.") || name == "lm_head" || starts_with(name, "lm_head."))
    info.scheme = NamingScheme::HuggingFace;
  else if (starts_with(name, "language_model.") || starts_with(name, "vision_tower."))
    info.scheme = NamingScheme::Mlx;

  const std::vector<std::string_view> c = split_dots(name);
  if (c[0] == "mtp") {
    info.role = TensorRole::Mtp;
    if (c.size() > 2 && c[1] == "layers") info.layer = parse_index(c, 2);
    return info;
  }
  // Drop the spelling's prefix: model., language_model., or both in either order.
  size_t i = 0;
  while (i < 2 && i + 1 < c.size() && (c[i] == "model" || c[i] == "language_model")) ++i;
  if (i < c.size() && (c[i] == "visual" || c[i] == "vision_tower" || c[0] == "vision_tower")) {
    info.role = TensorRole::Vision;
    for (size_t k = i; k + 1 < c.size(); ++k)
      if (c[k] == "blocks") info.block = parse_index(c, k + 1);
    return info;
  }
  const std::string_view head = i < c.size() ? c[i] : "";
  if (head == "embed_tokens") {
    info.role = TensorRole::Embed;
  } else if (head == "lm_head") {
    info.role = TensorRole::LmHead;
  } else if (head == "norm") {
    info.role = TensorRole::Norm;
  } else if (head == "layers") {
    info.layer = parse_index(c, i + 1);
    if (info.layer >= 0)
      return classify_layer_part(std::vector<std::string_view>(c.begin() + i + 2, c.end()), info);
  }
  return info;
}

ModuleParam split_module_param(const std::string& tensor_name) {
  const size_t dot = tensor_name.rfind('.');
  if (dot == std::string::npos) return {"", tensor_name};
  return {tensor_name.substr(0, dot), tensor_name.substr(dot + 1)};
}

}  // namespace tf
