// Test helpers for matrices interleaved at load (linear_q8_rows16.cpp, linear_q8_rows8.cpp): a
// copy of an MLX-layout matrix in either layout, and the worst deviation of a kernel's output
// from the reference's.
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/linear_internal.h"
#include "storage/dtype.h"

namespace tf::test {

struct Interleaved {
  std::vector<uint8_t> codes, scales, biases;
  WeightMatrix w;
};

inline Interleaved interleave(const WeightMatrix& w, WeightMatrix::Layout layout) {
  Interleaved i;
  i.codes.resize(w.row_bytes() * w.rows);
  const size_t params = static_cast<size_t>(w.rows * w.groups_per_row()) * dtype_size(w.dtype);
  i.scales.resize(params);
  i.biases.resize(params);
  simd::q8_interleave(layout, w, i.codes.data(), i.scales.data(), i.biases.data());
  i.w = w;
  i.w.layout = layout;
  i.w.data = i.codes.data();
  i.w.scales = i.scales.data();
  i.w.biases = i.biases.data();
  return i;
}

// max |y − ref| and max |ref| over all outputs.
struct Deviation {
  double worst = 0, scale = 0;
};
inline Deviation deviation(const std::vector<float>& y, const std::vector<float>& ref) {
  Deviation d;
  for (size_t k = 0; k < y.size(); ++k) {
    d.worst = std::max(d.worst, std::abs(double(y[k]) - ref[k]));
    d.scale = std::max(d.scale, std::abs(double(ref[k])));
  }
  return d;
}

}  // namespace tf::test
