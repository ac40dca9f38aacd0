// Turns named checkpoint tensors into kernel views, checking names, shapes and dtypes, and
// remembers which tensors were consumed so a loader can reject ones it does not understand.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "kernels/weight_matrix.h"
#include "storage/model_config.h"
#include "storage/safetensors.h"

namespace tf {

// y = W x + b.
struct BiasedLinear {
  WeightMatrix weight;
  std::vector<float> bias;
};

class TensorBinder {
 public:
  // quantization: the config's `quantization` block, or nullptr when it has none.
  TensorBinder(const Checkpoint& checkpoint, const QuantizationConfig* quantization);

  bool has(const std::string& name) const { return checkpoint_.has(name); }

  // The linear module `module` (its tensors are `<module>.weight`, and when quantized
  // `<module>.scales` / `<module>.biases`), of logical shape [leading..., rows, cols], as one
  // [prod(leading)·rows, cols] matrix. Quantized iff `.scales` exists (spec §5.5): bits and
  // group size come from the shapes and must agree with the config's entry for the module.
  WeightMatrix linear(const std::string& module, const std::vector<int64_t>& leading,
                      int64_t rows, int64_t cols);

  // A linear module that also has a `<module>.bias` [rows] (the vision tower, spec §2.6); the
  // weight is bound as linear() binds it (dense or MLX affine) and the bias converted to float32.
  BiasedLinear biased_linear(const std::string& module, int64_t rows, int64_t cols);

  // A dense float tensor stored under exactly `name`, of shape [leading..., rows, cols], viewed
  // as [prod(leading)·rows, cols] (the fused HF expert tensors, which have no `.weight`).
  WeightMatrix dense_matrix(const std::string& name, const std::vector<int64_t>& leading,
                            int64_t rows, int64_t cols);

  // A small float tensor converted to float32; its element count must equal the product of
  // `shape` and, for rank > 1, its shape must be one of `shapes` (layout variants).
  std::vector<float> vector(const std::string& name, const std::vector<int64_t>& shape);
  std::vector<float> vector(const std::string& name,
                            const std::vector<std::vector<int64_t>>& shapes);

  void mark_used(const std::string& name) { used_.insert(name); }
  // Names of tensors that start with `prefix` and were never bound.
  std::vector<std::string> unused_with_prefix(const std::string& prefix) const;

 private:
  const TensorView& get(const std::string& name);
  WeightMatrix linear_impl(const std::string& module, const std::vector<int64_t>& leading,
                           int64_t rows, int64_t cols);
  const Checkpoint& checkpoint_;
  const QuantizationConfig* quantization_;
  std::set<std::string> used_;
};

}  // namespace tf
