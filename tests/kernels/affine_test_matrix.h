// Test helper: a random MLX affine matrix with bf16 scales and biases, the bytes owned beside
// the WeightMatrix that views them (random packed bytes are valid codes).
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include "kernels/weight_matrix.h"
#include "storage/dtype.h"

namespace tf::test {

struct Affine {
  std::vector<uint8_t> data, scales, biases;
  WeightMatrix w;
};

// Random codes and scales / biases (bf16 unless asked) of a realistic size (|s| ~ 0.01).
inline Affine random_affine(int64_t rows, int64_t cols, int bits, int group, uint32_t seed,
                            DType dtype = DType::BF16) {
  Affine a;
  std::mt19937 rng(seed);
  a.data.resize(static_cast<size_t>(rows * cols * bits / 8));
  for (auto& b : a.data) b = static_cast<uint8_t>(rng());
  const int64_t groups = rows * (cols / group);
  a.scales.resize(dtype_size(dtype) * groups);
  a.biases.resize(dtype_size(dtype) * groups);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (int64_t i = 0; i < groups; ++i) {
    store_float(a.scales.data(), dtype, i, 0.01f * u(rng));
    store_float(a.biases.data(), dtype, i, 0.02f * u(rng));
  }
  a.w.format = WeightMatrix::Format::Affine;
  a.w.dtype = dtype;
  a.w.bits = bits;
  a.w.group_size = group;
  a.w.rows = rows;
  a.w.cols = cols;
  a.w.data = a.data.data();
  a.w.scales = a.scales.data();
  a.w.biases = a.biases.data();
  return a;
}

}  // namespace tf::test
