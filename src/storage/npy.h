// NumPy .npy files (format 1.0/2.0, little-endian f4 / f8 / i4 / i8, C order): reference logits
// in tests and `tightfit logits --out`.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tf {

struct NpyArray {
  std::vector<int64_t> shape;
  std::vector<float> data;  // converted to float32 whatever the stored type
  int64_t numel() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
  }
};

// Throws std::runtime_error naming the file on a malformed header, Fortran order, big-endian or
// unsupported dtype, or a data section shorter than the shape says.
NpyArray read_npy(const std::string& path);

// Writes float32 '<f4' C-order data (version 1.0 header, 64-byte aligned as NumPy does).
void write_npy(const std::string& path, const std::vector<int64_t>& shape, const float* data);

}  // namespace tf
