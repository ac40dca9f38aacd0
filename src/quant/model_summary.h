// Parameters, bytes and precision of a checkpoint per tensor role, and bits per weight the way
// MLX counts them (spec §5.7). Works on plain tensor descriptions (name, dtype, shape) — from a
// Checkpoint's headers, or from a layout `convert --dry-run` plans without any weights.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "quant/tensor_roles.h"
#include "storage/model_config.h"
#include "storage/tensor.h"

namespace tf {

struct RoleStats {
  int64_t params = 0;   // logical parameters; a quantized module counts weight.size·32/bits
  uint64_t bytes = 0;   // stored bytes: packed weights + scales + biases + dense tensors
  int64_t tensors = 0;
  // Storage format → parameters stored that way: "BF16", "F32", … for dense tensors,
  // "4-bit g64" for MLX affine-quantized modules.
  std::map<std::string, int64_t> formats;

  double bits_per_param() const { return params ? 8.0 * static_cast<double>(bytes) / params : 0.0; }
};

struct QuantizedModule {
  std::string module;  // module path, e.g. language_model.model.layers.0.mlp.switch_mlp.up_proj
  TensorRole role = TensorRole::Other;
  int bits = 0;
  int group_size = 0;
  int64_t params = 0;        // N·K
  bool from_config = false;  // bits/group confirmed by the config (else derived from shapes)
  int64_t rows = 0, cols = 0;  // N and K of one matrix (of one expert, for stacked experts)
  uint64_t bytes = 0;          // stored: packed weights + scales + biases
};

struct ModelSummary {
  std::array<RoleStats, kNumTensorRoles> roles{};  // indexed by TensorRole
  RoleStats total;
  std::vector<QuantizedModule> quantized;
  // Things a user should know (config and tensors disagree, bits guessed from shapes).
  std::vector<std::string> warnings;

  // MLX's bits per weight (spec §5.7) = 8 · mlx_bytes / mlx_params, over what the MLX loaders
  // keep (`mtp.*` is dropped). Like MLX's walk over leaf modules, a parameter held directly by a
  // module that also has sub-modules (the GDN block's dt_bias and A_log) adds its bytes but no
  // parameters.
  uint64_t mlx_bytes = 0;
  int64_t mlx_params = 0;
  double bits_per_weight() const {
    return mlx_params ? 8.0 * static_cast<double>(mlx_bytes) / static_cast<double>(mlx_params) : 0.0;
  }

  const RoleStats& role(TensorRole r) const { return roles[static_cast<size_t>(r)]; }
};

// A module is quantized iff `<module>.scales` is present (spec §5.5). Its bits and group are
// derived from the shapes (weight U32 [..., N, K·b/32], scales/biases [..., N, K/g]: b·g =
// 32·weight.shape[-1]/scales.shape[-1]) and pinned down by `quantization` (may be null) where
// shapes alone are ambiguous (e.g. 2-bit g128 vs 4-bit g64). Throws std::runtime_error naming
// the module when a quantized module is malformed (no U32 weight, no biases — i.e. not affine —,
// shapes that fit no MLX bits/group).
ModelSummary summarize_model(const std::vector<TensorSpec>& tensors,
                             const QuantizationConfig* quantization = nullptr);

// Reports shared by `inspect` and `convert` (model_summary_report.cpp).
// The per-role table: role, parameters (and share), bytes, bits per parameter, storage formats;
// a total row; and the MLX bits-per-weight line. Ends with a newline.
std::string format_role_table(const ModelSummary& s);
// {"roles": {role: {params, bytes, tensors, bits_per_param, formats}}, "total": {...},
//  "bits_per_weight": x, "mlx_params": n, "mlx_bytes": n, "warnings": [...],
//  "quantized_modules": [{module, role, bits, group_size, params, from_config}]}
nlohmann::json summary_to_json(const ModelSummary& s);
// 1234567 → "1,234,567".
std::string with_commas(uint64_t n);
// 758200 → "758.2 KB"; 19311035392 → "19.31 GB (17.98 GiB)".
std::string human_bytes(uint64_t n);
// 374728 → "374.7 K"; 35108000000 → "35.11 B".
std::string human_count(uint64_t n);

}  // namespace tf
