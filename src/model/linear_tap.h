// An optional tap on the inputs of every linear layer of the forward pass: tools that study real
// activations (`tightfit sensitivity`) see (module path, layer, weight, input rows) for each
// matmul, in MLX naming (spec §2.1). Unset, it costs one branch per matmul.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "kernels/weight_matrix.h"

namespace tf {

// module: e.g. "language_model.model.layers.3.self_attn.q_proj"; routed experts report their
// stack ("….mlp.switch_mlp.gate_proj") with `expert` set, everything else expert = −1; layer is
// −1 for the head. x holds `rows` rows of w.cols floats.
using LinearTapFn = std::function<void(const std::string& module, int layer, int expert,
                                       const WeightMatrix& w, const float* x, int64_t rows)>;

// What one block's forward needs to report: the tap and the module prefix of its layer.
struct LinearTap {
  const LinearTapFn* fn = nullptr;
  std::string prefix;  // "language_model.model.layers.{i}."
  int layer = -1;
  void operator()(const char* name, const WeightMatrix& w, const float* x, int64_t rows,
                  int expert = -1) const {
    (*fn)(prefix + name, layer, expert, w, x, rows);
  }
};

}  // namespace tf
