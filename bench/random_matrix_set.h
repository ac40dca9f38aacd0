// Benchmarks of the matmul kernels: a pool of copies of one quantized shape, about a gigabyte
// in all, so that cycling through the copies reads weights from memory as a model's decode
// step does (one copy alone would sit in the cache). Codes are random bytes, scales and biases
// small random bf16 (no denormals, no NaN). Used by kernels_bench and q8_small_batch_bench.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <random>
#include <vector>

#include "kernels/linear.h"

namespace tf::bench {

inline constexpr size_t kWorkingSet = size_t{1} << 30;

struct MatrixSet {
  std::unique_ptr<uint8_t[]> codes, params;
  std::vector<WeightMatrix> copies;
};

inline MatrixSet build_set(int64_t rows, int64_t cols, int bits, int group) {
  WeightMatrix w;
  w.format = WeightMatrix::Format::Affine;
  w.dtype = DType::BF16;
  w.bits = bits;
  w.group_size = group;
  w.rows = rows;
  w.cols = cols;
  const size_t code_bytes = w.row_bytes() * rows;
  const size_t param_bytes = static_cast<size_t>(rows * w.groups_per_row()) * 2;
  const size_t count = std::max<size_t>(2, kWorkingSet / w.total_bytes() + 1);
  MatrixSet s;
  s.codes.reset(new uint8_t[code_bytes * count]);
  s.params.reset(new uint8_t[2 * param_bytes * count]);
  std::mt19937_64 rng(rows * 31 + cols + bits);
  for (size_t i = 0; i + 8 <= code_bytes * count; i += 8) {
    const uint64_t v = rng();
    std::memcpy(s.codes.get() + i, &v, 8);
  }
  std::uniform_real_distribution<float> u(-0.02f, 0.02f);
  for (size_t i = 0; i < param_bytes * count; ++i) store_float(s.params.get(), DType::BF16, i, u(rng));
  for (size_t c = 0; c < count; ++c) {
    WeightMatrix m = w;
    m.data = s.codes.get() + c * code_bytes;
    m.scales = s.params.get() + 2 * c * param_bytes;
    m.biases = m.scales + param_bytes;
    s.copies.push_back(m);
  }
  return s;
}

}  // namespace tf::bench
