// Which interleaved layout of 2- and 3-bit rows the running target's Int8 kernels read, and the
// one place that maps a layout to its fit test and its permutation (linear_q8_rows16.cpp for
// AVX-512 VNNI + VBMI, linear_q8_rows8.cpp for 256-bit x86), so that model load, the draft
// vocabulary and the memory plan agree.
#include <stdexcept>

#include "kernels/linear_internal.h"

namespace tf::simd {

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
