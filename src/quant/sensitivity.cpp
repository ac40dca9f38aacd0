// Per-module quantization sensitivity on real activations (see sensitivity.h).
#include "quant/sensitivity.h"

#include <algorithm>
#include <array>
#include <map>
#include <cmath>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "kernels/linear.h"
#include "quant/parallel_rows.h"

namespace tf {

namespace {

bool ends(const std::string& s, const char* x) {
  const size_t n = std::char_traits<char>::length(x);
  return s.size() >= n && s.compare(s.size() - n, n, x) == 0;
}

bool has(const std::string& s, const char* x) { return s.find(x) != std::string::npos; }

double sum_squares(const float* v, size_t n) {
  double s = 0;
  for (size_t i = 0; i < n; ++i) s += static_cast<double>(v[i]) * v[i];
  return s;
}

std::string fixed(double v, int decimals) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string pad(const std::string& s, size_t w, bool left = false) {
  if (s.size() >= w) return s;
  return left ? std::string(w - s.size(), ' ') + s : s + std::string(w - s.size(), ' ');
}

}  // namespace

std::string sensitivity_group(const std::string& m) {
  if (ends(m, "mlp.gate")) return "router";
  if (ends(m, "shared_expert_gate")) return "shared_expert_gate";
  if (has(m, "linear_attn.in_proj")) return "deltanet_in_proj";
  if (ends(m, "linear_attn.out_proj")) return "deltanet_out_proj";
  if (ends(m, "self_attn.q_proj")) return "attention_q";
  if (ends(m, "self_attn.k_proj")) return "attention_k";
  if (ends(m, "self_attn.v_proj")) return "attention_v";
  if (ends(m, "self_attn.o_proj")) return "attention_o";
  if (has(m, "switch_mlp.") || has(m, "mlp.experts."))
    return ends(m, "down_proj") ? "expert_down" : "expert_gate_up";
  if (has(m, "shared_expert.")) return ends(m, "down_proj") ? "shared_expert_down" : "shared_expert_gate_up";
  if (ends(m, "mlp.down_proj")) return "mlp_down";
  if (ends(m, "mlp.gate_proj") || ends(m, "mlp.up_proj")) return "mlp_gate_up";
  if (ends(m, "lm_head")) return "lm_head";
  return "other";
}

double ModuleSensitivity::relative_error() const {
  return signal2 > 0 ? std::sqrt(error2 / signal2) : 0.0;
}

SensitivityMeter::SensitivityMeter(int bits, int group_size, ThreadPool& pool)
    : bits_(bits), group_size_(group_size), pool_(pool) {
  validate_affine_spec({bits, group_size, DType::BF16, AffineRounding::HalfEven}, group_size);
}

void SensitivityMeter::observe(const std::string& module, int layer, const WeightMatrix& w,
                               const float* x, int64_t rows) {
  auto [it, fresh] = modules_.try_emplace(module);
  ModuleSensitivity& m = it->second;
  if (fresh) {
    order_.push_back(module);
    m.module = module;
    m.group = sensitivity_group(module);
    m.layer = layer;
  }
  m.rows += rows;
  const int64_t K = w.cols, N = w.rows;
  if (K % group_size_ != 0) {
    m.quantizable = false;
    return;
  }
  const AffineQuantSpec spec{bits_, group_size_, DType::BF16, AffineRounding::HalfEven};
  const size_t row_bytes = affine_row_bytes(bits_, K), G = K / group_size_;
  // Weight rows in chunks of ~4M values: W as float, Q(W) dequantized, their difference; then
  // the chunk's share of ‖W X‖² and ‖(W − Q(W)) X‖² from two matmuls.
  const int64_t chunk = std::clamp<int64_t>((int64_t{4} << 20) / K, 1, N);
  for (int64_t b = 0; b < N; b += chunk) {
    const int64_t n = std::min(chunk, N - b);
    w_.resize(n * K);
    q_.resize(n * K);
    delta_.resize(n * K);
    packed_.resize(n * row_bytes);
    scales_.resize(n * G * 2);
    biases_.resize(n * G * 2);
    dequantize_rows(w, b, n, w_.data());
    parallel_rows(pool_, n, 16, [&](int64_t r0, int64_t r1) {
      const int64_t c = r1 - r0;
      affine_quantize_rows(w_.data() + r0 * K, c, K, spec, packed_.data() + r0 * row_bytes,
                           scales_.data() + r0 * G * 2, biases_.data() + r0 * G * 2);
      affine_dequantize_rows(packed_.data() + r0 * row_bytes, scales_.data() + r0 * G * 2,
                             biases_.data() + r0 * G * 2, c, K, bits_, group_size_, DType::BF16,
                             q_.data() + r0 * K);
      for (int64_t i = r0 * K; i < r1 * K; ++i) delta_[i] = w_[i] - q_[i];
    });
    WeightMatrix dense;  // the float copy of this chunk of W, and the chunk of W − Q(W)
    dense.format = WeightMatrix::Format::Dense;
    dense.dtype = DType::F32;
    dense.rows = n;
    dense.cols = K;
    dense.data = reinterpret_cast<const uint8_t*>(w_.data());
    y_.resize(rows * n);
    e_.resize(rows * n);
    matmul(dense, x, rows, y_.data(), pool_);
    dense.data = reinterpret_cast<const uint8_t*>(delta_.data());
    matmul(dense, x, rows, e_.data(), pool_);
    m.signal2 += sum_squares(y_.data(), y_.size());
    m.error2 += sum_squares(e_.data(), e_.size());
  }
}

SensitivityReport SensitivityMeter::report(int num_layers, int edge_layers) const {
  SensitivityReport r;
  r.bits = bits_;
  r.group_size = group_size_;
  r.num_layers = num_layers;
  r.tokens = tokens_;
  r.edge_layers = edge_layers > 0 ? edge_layers : std::max(1, num_layers / 8);
  auto is_edge = [&](int l) { return l < r.edge_layers || l >= num_layers - r.edge_layers; };
  for (const auto& name : order_) r.modules.push_back(modules_.at(name));

  std::map<std::string, GroupSensitivity> groups;
  std::map<std::string, std::array<double, 4>> edge_mid;  // edge sum, edge n, middle sum, middle n
  std::map<std::string, std::array<double, 2>> pooled;
  std::vector<double> layer_sum(num_layers, 0.0), layer_n(num_layers, 0.0);
  std::vector<std::string> group_order;
  for (const auto& m : r.modules) {
    if (!m.quantizable) continue;
    const double e = m.relative_error();
    auto [g, fresh] = groups.try_emplace(m.group);
    if (fresh) {
      g->second.group = m.group;
      group_order.push_back(m.group);
    }
    g->second.modules += 1;
    g->second.mean += e;
    if (e >= g->second.max) g->second.max = e, g->second.worst = m.module;
    pooled[m.group][0] += m.error2;
    pooled[m.group][1] += m.signal2;
    if (m.layer >= 0 && m.layer < num_layers) {
      layer_sum[m.layer] += e;
      layer_n[m.layer] += 1;
      auto& em = edge_mid[m.group];
      (is_edge(m.layer) ? em[0] : em[2]) += e;
      (is_edge(m.layer) ? em[1] : em[3]) += 1;
    }
  }
  double log_ratio = 0;
  int ratios = 0;
  for (const auto& name : group_order) {
    GroupSensitivity g = groups[name];
    g.mean /= g.modules;
    g.pooled = pooled[name][1] > 0 ? std::sqrt(pooled[name][0] / pooled[name][1]) : 0;
    const auto& em = edge_mid[name];
    if (em[1] > 0 && em[3] > 0 && em[2] > 0) {
      g.edge_vs_middle = (em[0] / em[1]) / (em[2] / em[3]);
      log_ratio += std::log(g.edge_vs_middle);
      ++ratios;
    }
    r.groups.push_back(g);
  }
  r.edge_vs_middle = ratios ? std::exp(log_ratio / ratios) : 0;
  for (int l = 0; l < num_layers; ++l) r.layer_mean.push_back(layer_n[l] ? layer_sum[l] / layer_n[l] : 0);
  return r;
}

std::string SensitivityReport::format_table() const {
  std::string out = "relative output error ‖(W − Q(W))x‖ / ‖Wx‖ at " + std::to_string(bits) + "-bit g" +
                    std::to_string(group_size) + " over " + std::to_string(tokens) + " calibration tokens\n\n";
  out += pad("module kind", 24) + pad("modules", 8, true) + pad("pooled", 10, true) + pad("mean", 10, true) +
         pad("max", 10, true) + pad("edge/mid", 10, true) + "  worst module\n";
  for (const auto& g : groups)
    out += pad(g.group, 24) + pad(std::to_string(g.modules), 8, true) + pad(fixed(g.pooled, 4), 10, true) +
           pad(fixed(g.mean, 4), 10, true) + pad(fixed(g.max, 4), 10, true) +
           pad(g.edge_vs_middle > 0 ? fixed(g.edge_vs_middle, 2) : "-", 10, true) + "  " + g.worst + "\n";
  out += "\nper layer (mean over its modules):\n";
  for (int l = 0; l < num_layers; ++l) {
    const bool edge = l < edge_layers || l >= num_layers - edge_layers;
    out += "  layer " + pad(std::to_string(l), 3, true) + "  " + fixed(layer_mean[l], 4) + (edge ? "  edge" : "") + "\n";
  }
  int skipped = 0;
  for (const auto& m : modules) skipped += !m.quantizable;
  out += "\nedge-vs-middle ratio (first/last " + std::to_string(edge_layers) + " layers vs the rest, " +
         "geometric mean over module kinds): " + (edge_vs_middle > 0 ? fixed(edge_vs_middle, 3) : "-") + "\n";
  if (skipped)
    out += std::to_string(skipped) + " module(s) not measured: group " + std::to_string(group_size) +
           " does not divide their input dimension (a conversion keeps them dense)\n";
  return out;
}

nlohmann::json SensitivityReport::to_json() const {
  nlohmann::json j = {{"bits", bits}, {"group_size", group_size}, {"tokens", tokens},
                      {"num_layers", num_layers}, {"edge_layers", edge_layers},
                      {"edge_vs_middle", edge_vs_middle}, {"layer_mean", layer_mean}};
  j["groups"] = nlohmann::json::array();
  for (const auto& g : groups)
    j["groups"].push_back({{"group", g.group}, {"modules", g.modules}, {"pooled", g.pooled}, {"mean", g.mean},
                           {"max", g.max}, {"worst", g.worst}, {"edge_vs_middle", g.edge_vs_middle}});
  j["modules"] = nlohmann::json::array();
  for (const auto& m : modules)
    j["modules"].push_back({{"module", m.module}, {"group", m.group}, {"layer", m.layer},
                            {"relative_error", m.relative_error()}, {"rows", m.rows},
                            {"quantizable", m.quantizable}});
  return j;
}

std::string SensitivityReport::to_csv() const {
  std::string out = "module,group,layer,relative_error,rows,quantizable\n";
  for (const auto& m : modules)
    out += m.module + "," + m.group + "," + std::to_string(m.layer) + "," +
           (m.quantizable ? fixed(m.relative_error(), 6) : "") + "," + std::to_string(m.rows) + "," +
           (m.quantizable ? "true" : "false") + "\n";
  return out;
}

}  // namespace tf
