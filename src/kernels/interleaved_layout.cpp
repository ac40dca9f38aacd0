// Which interleaved layout of 2- and 3-bit rows the running target's Int8 kernels read, and the
// one place that maps a layout to its fit test and its permutation (linear_q8_rows16.cpp for
// AVX-512 VNNI + VBMI, linear_q8_rows8.cpp for 256-bit x86), so that model load, the draft
// vocabulary and the memory plan agree.
#include <cstring>
#include <stdexcept>
#include <utility>
#include <vector>

#include "kernels/linear_internal.h"

namespace tf::simd {

void q8_interleave_codes_scalar(const WeightMatrix& w, int64_t n, int64_t b, uint8_t* codes) {
  const size_t row_bytes = w.row_bytes();
  uint8_t* block = codes + static_cast<size_t>(b * n) * row_bytes;
  std::memset(block, 0, static_cast<size_t>(n) * row_bytes);
  std::vector<uint8_t> row(static_cast<size_t>(w.cols));
  for (int64_t r = 0; r < n; ++r) {
    unpack_code_bytes(w.data + (b * n + r) * row_bytes, w.bits, w.cols, row.data());
    for (int64_t k = 0; k < w.cols; ++k) {
      const WeightMatrix::InterleavedPlace at = WeightMatrix::interleaved_place(w.bits, n, r, k);
      block[at.low] |= static_cast<uint8_t>((row[static_cast<size_t>(k)] & 3u) << at.low_shift);
      if (w.bits == 3) block[at.high] |= static_cast<uint8_t>((row[static_cast<size_t>(k)] >> 2) << at.high_shift);
    }
  }
}

void q8_interleave_params(const WeightMatrix& w, int64_t n, uint8_t* scales, uint8_t* biases) {
  // Row nb + r's group g to (b · groups + g) · n + r (WeightMatrix::param_index), element by
  // element in their own width.
  const int64_t groups = w.groups_per_row(), blocks = w.rows / n;
  const size_t e = dtype_size(w.dtype);
  for (const auto& [from, to] : {std::pair{w.scales, scales}, std::pair{w.biases, biases}})
    for (int64_t b = 0; b < blocks; ++b)
      for (int64_t r = 0; r < n; ++r) {
        const uint8_t* src = from + static_cast<size_t>((b * n + r) * groups) * e;
        uint8_t* dst = to + static_cast<size_t>(b * groups * n + r) * e;
        for (int64_t g = 0; g < groups; ++g)
          std::memcpy(dst + static_cast<size_t>(g * n) * e, src + static_cast<size_t>(g) * e, e);
      }
}

WeightMatrix::Layout q8_interleaved_layout() {
  if (q8_rows16_supported()) return WeightMatrix::Layout::Rows16;
  if (q8_rows8_supported()) return WeightMatrix::Layout::Rows8;
  return WeightMatrix::Layout::Rows;
}

bool q8_interleaved_fits(WeightMatrix::Layout layout, const WeightMatrix& w) {
  switch (layout) {
    case WeightMatrix::Layout::Rows16: return q8_rows16_layout_fits(w);
    case WeightMatrix::Layout::Rows8: return q8_rows8_layout_fits(w);
    case WeightMatrix::Layout::Rows: return false;
  }
  return false;
}

void q8_interleave(WeightMatrix::Layout layout, const WeightMatrix& w, uint8_t* codes, uint8_t* scales,
                   uint8_t* biases) {
  switch (layout) {
    case WeightMatrix::Layout::Rows16: return q8_rows16_interleave(w, codes, scales, biases);
    case WeightMatrix::Layout::Rows8: return q8_rows8_interleave(w, codes, scales, biases);
    case WeightMatrix::Layout::Rows: break;
  }
  throw std::invalid_argument("q8_interleave: not an interleaved layout");
}

}  // namespace tf::simd
