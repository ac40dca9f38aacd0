// A read-only view of one tensor inside a mapped checkpoint file (zero-copy).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "storage/dtype.h"

namespace tf {

struct TensorView {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  // Points into the mmapped file. MLX writes unaligned tensors (spec §6): read through
  // memcpy / unaligned SIMD loads, never by casting to a wider pointer type.
  const uint8_t* data = nullptr;
  size_t nbytes = 0;

  int64_t numel() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
  }
  int rank() const { return static_cast<int>(shape.size()); }
  int64_t dim(int i) const { return shape.at(i < 0 ? shape.size() + i : i); }
};

// "[256, 512, 128]"
std::string shape_to_string(const std::vector<int64_t>& shape);

}  // namespace tf
