// Text and JSON renderings of a ModelSummary (spec §5.7 for the bits-per-weight line).
#include <algorithm>
#include <cstdio>
#include <iterator>

#include <nlohmann/json.hpp>

#include "quant/model_summary.h"

namespace tf {

namespace {

// Model order: ends of the network, then per-layer blocks, then the rest.
constexpr TensorRole kDisplayOrder[] = {
    TensorRole::Embed,          TensorRole::LmHead,           TensorRole::FullAttention,
    TensorRole::LinearAttention, TensorRole::DeltaNetParams,  TensorRole::Norm,
    TensorRole::Router,         TensorRole::SharedExpertGate, TensorRole::SharedExpert,
    TensorRole::RoutedExperts,  TensorRole::DenseMlp,         TensorRole::Vision,
    TensorRole::Mtp,            TensorRole::Other};
static_assert(std::size(kDisplayOrder) == kNumTensorRoles);

std::string fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string pad_left(const std::string& s, size_t width) {
  return s.size() >= width ? s : std::string(width - s.size(), ' ') + s;
}
std::string pad_right(const std::string& s, size_t width) {
  return s.size() >= width ? s : s + std::string(width - s.size(), ' ');
}

// "BF16" when one format, else "2-bit g64 97%, BF16 3%" (largest first).
std::string formats_text(const RoleStats& r) {
  std::vector<std::pair<std::string, int64_t>> f(r.formats.begin(), r.formats.end());
  std::sort(f.begin(), f.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  if (f.size() == 1) return f[0].first;
  std::string out;
  for (const auto& [name, params] : f) {
    if (!out.empty()) out += ", ";
    out += name + " " + fixed(100.0 * params / std::max<int64_t>(r.params, 1), 1) + "%";
  }
  return out;
}

std::string row(const std::string& name, const RoleStats& r, int64_t total_params) {
  const std::string share = total_params ? fixed(100.0 * r.params / total_params, 1) + "%" : "";
  return pad_right(name, 20) + pad_left(with_commas(r.params), 16) + pad_left(share, 8) +
         pad_left(with_commas(r.bytes), 17) + pad_left(fixed(r.bits_per_param(), 2), 11) + "  " +
         formats_text(r) + "\n";
}

nlohmann::json stats_json(const RoleStats& r) {
  return {{"params", r.params},
          {"bytes", r.bytes},
          {"tensors", r.tensors},
          {"bits_per_param", r.bits_per_param()},
          {"formats", r.formats}};
}

}  // namespace

std::string with_commas(uint64_t n) {
  std::string digits = std::to_string(n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string human_bytes(uint64_t n) {
  const double v = static_cast<double>(n);
  if (n < 1000) return std::to_string(n) + " B";
  if (v < 1e6) return fixed(v / 1e3, 1) + " KB";
  if (v < 1e9) return fixed(v / 1e6, 2) + " MB";
  return fixed(v / 1e9, 2) + " GB (" + fixed(v / (1024.0 * 1024.0 * 1024.0), 2) + " GiB)";
}

std::string human_count(uint64_t n) {
  const double v = static_cast<double>(n);
  if (n < 1000) return std::to_string(n);
  if (v < 1e6) return fixed(v / 1e3, 1) + " K";
  if (v < 1e9) return fixed(v / 1e6, 2) + " M";
  return fixed(v / 1e9, 2) + " B";
}

std::string format_role_table(const ModelSummary& s) {
  std::string out = pad_right("role", 20) + pad_left("parameters", 16) + pad_left("share", 8) +
                    pad_left("bytes", 17) + pad_left("bits/param", 11) + "  stored as\n";
  for (TensorRole role : kDisplayOrder) {
    const RoleStats& r = s.role(role);
    if (r.tensors == 0) continue;
    out += row(std::string(role_name(role)), r, s.total.params);
  }
  out += row("total", s.total, s.total.params);
  out += "bits per weight (as MLX counts): " + fixed(s.bits_per_weight(), 3) + " = 8 × " +
         with_commas(s.mlx_bytes) + " bytes / " + with_commas(s.mlx_params) + " parameters";
  if (s.role(TensorRole::Mtp).tensors)
    out += " (mtp.* excluded, as MLX loaders drop it; tightfit drafts with it: --draft)";
  out += "\n";
  return out;
}

nlohmann::json summary_to_json(const ModelSummary& s) {
  nlohmann::json roles = nlohmann::json::object();
  for (int i = 0; i < kNumTensorRoles; ++i)
    if (s.roles[i].tensors) roles[std::string(role_name(static_cast<TensorRole>(i)))] = stats_json(s.roles[i]);
  nlohmann::json quantized = nlohmann::json::array();
  for (const auto& q : s.quantized)
    quantized.push_back({{"module", q.module},
                         {"role", std::string(role_name(q.role))},
                         {"bits", q.bits},
                         {"group_size", q.group_size},
                         {"params", q.params},
                         {"from_config", q.from_config}});
  return {{"roles", roles},
          {"total", stats_json(s.total)},
          {"bits_per_weight", s.bits_per_weight()},
          {"mlx_params", s.mlx_params},
          {"mlx_bytes", s.mlx_bytes},
          {"quantized_modules", quantized},
          {"warnings", s.warnings}};
}

}  // namespace tf
