// A read-only view of one tensor inside a mapped checkpoint file (zero-copy), and the plain
// description (name, dtype, shape) used wherever no bytes are needed: headers to write, layouts
// to plan, summaries to compute.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "storage/dtype.h"

namespace tf {

// Product of the dims (1 for a scalar, 0 when any dim is 0).
inline int64_t shape_numel(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

struct TensorView {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  // Points into the mmapped file. MLX writes unaligned tensors (spec §6): read through
  // memcpy / unaligned SIMD loads, never by casting to a wider pointer type.
  const uint8_t* data = nullptr;
  size_t nbytes = 0;

  int64_t numel() const { return shape_numel(shape); }
  int rank() const { return static_cast<int>(shape.size()); }
  int64_t dim(int i) const { return shape.at(i < 0 ? shape.size() + i : i); }
};

// A tensor without its bytes.
struct TensorSpec {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  int64_t numel() const { return shape_numel(shape); }
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype); }
};

inline TensorSpec spec_of(const TensorView& t) { return {t.name, t.dtype, t.shape}; }

// "[256, 512, 128]"
std::string shape_to_string(const std::vector<int64_t>& shape);

}  // namespace tf
