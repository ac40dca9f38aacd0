// Test helper: checks a converted folder against its Hugging Face source tensor by tensor, using
// the MLX layout rules of spec §2.1, §2.7 and §5.5 written out independently of the converter:
// every output tensor comes from the right input rows with the right transformation (+1 norms,
// moved conv axis, split / stacked experts, permuted patch embedding), quantized tensors are
// byte-identical to quantizing those rows with the bits / group their shapes and config.json
// say, nothing is missing or extra, and config.json's quantization block agrees with the tensors.
#pragma once

#include <string>
#include <vector>

#include "storage/dtype.h"

namespace tf::test {

struct LayoutExpectation {
  bool vision = false;  // vision_tower.* expected (source has model.visual.*, not --text-only)
  bool mtp = false;     // mtp.* expected (--keep-mtp)
  DType dtype = DType::BF16;
};

// Returns the problems found (empty: the layout is right). Also counts checked tensors.
std::vector<std::string> check_mlx_conversion(const std::string& hf_dir, const std::string& mlx_dir,
                                              const LayoutExpectation& expect, int* checked = nullptr);

// A fresh folder under the system temp dir, removed with its contents by the destructor.
struct ScratchDir {
  std::string path;
  explicit ScratchDir(const std::string& tag);
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
};

}  // namespace tf::test
