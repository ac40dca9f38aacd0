// How much each linear module suffers from quantization on real activations: for every module,
// the relative output error of quantizing that module alone,
//     e = ‖(W − Q(W)) X‖ / ‖W X‖   (Frobenius norms over all calibration rows X),
// with Q the MLX affine quantizer at the chosen bits / group (spec §5.1). Expert stacks pool all
// experts' rows (each expert's rows are the tokens routed to it). `tightfit sensitivity` feeds
// the meter from the model's linear tap; the meter itself knows nothing about models.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "kernels/thread_pool.h"
#include "kernels/weight_matrix.h"
#include "quant/mlx_affine.h"

namespace tf {

// Kinds of linear module the report groups by (a finer split than tensor roles).
// "router", "shared_expert_gate", "deltanet_in_proj", "deltanet_out_proj", "attention_q",
// "attention_k", "attention_v", "attention_o", "expert_gate_up", "expert_down",
// "shared_expert_gate_up", "shared_expert_down", "mlp_gate_up", "mlp_down", "lm_head", "other".
std::string sensitivity_group(const std::string& module_path);

struct ModuleSensitivity {
  std::string module;     // MLX module path
  std::string group;      // sensitivity_group(module)
  int layer = -1;         // decoder layer, −1 for lm_head
  double error2 = 0;      // Σ ‖(W − Q(W)) x‖²
  double signal2 = 0;     // Σ ‖W x‖²
  int64_t rows = 0;       // activation rows seen (for experts: routed token slots)
  bool quantizable = true;  // false when the group size does not divide the input dimension
  double relative_error() const;
};

struct GroupSensitivity {
  std::string group;
  int modules = 0;
  double pooled = 0;     // sqrt(Σ error²) / sqrt(Σ signal²) over the group's modules
  double mean = 0;       // mean of the modules' relative errors
  double max = 0;
  std::string worst;     // module with the largest relative error
  double edge_vs_middle = 0;  // mean in edge layers / mean in middle layers (0: not both present)
};

struct SensitivityReport {
  int bits = 0, group_size = 0, num_layers = 0, edge_layers = 0;
  int64_t tokens = 0;
  std::vector<ModuleSensitivity> modules;  // model order
  std::vector<GroupSensitivity> groups;
  std::vector<double> layer_mean;          // per decoder layer: mean relative error of its modules
  // Geometric mean over groups present in both edge and middle layers of their edge/middle
  // ratio: > 1 means the first and last layers suffer more than the middle ones.
  double edge_vs_middle = 0;

  std::string format_table() const;
  nlohmann::json to_json() const;
  std::string to_csv() const;  // one line per module
};

class SensitivityMeter {
 public:
  SensitivityMeter(int bits, int group_size, ThreadPool& pool);

  // One evaluation of a linear module: `rows` input rows x [rows][w.cols] through w (dense or
  // quantized; a quantized w is measured against its own dequantized values). Expert slices of
  // one stacked module accumulate into the same entry.
  void observe(const std::string& module, int layer, const WeightMatrix& w, const float* x, int64_t rows);
  void add_tokens(int64_t n) { tokens_ += n; }

  // Edges = the first and last `edge_layers` decoder layers (0: max(1, num_layers / 8), the
  // "first and last eighth" of mlx-lm's mixed recipes).
  SensitivityReport report(int num_layers, int edge_layers = 0) const;

 private:
  int bits_, group_size_;
  ThreadPool& pool_;
  int64_t tokens_ = 0;
  std::vector<std::string> order_;
  std::map<std::string, ModuleSensitivity> modules_;
  std::vector<float> w_, q_, delta_, y_, e_;
  std::vector<uint8_t> packed_, scales_, biases_;
};

}  // namespace tf
