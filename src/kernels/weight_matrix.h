// How kernels see a weight matrix: [rows = N outputs, cols = K inputs], y = W x (spec §2.5).
// Either dense (F32 / F16 / BF16) or MLX affine-quantized (spec §5): packed codes, LSB-first
// bitstream per row, with per-group scale s and bias β in F16/BF16 (ŵ = s·q + β).
// Kernels know nothing about models: a model binds its tensors into WeightMatrix views.
#pragma once

#include <cstdint>
#include <stdexcept>

#include "storage/dtype.h"

namespace tf {

// The first `cols` codes of a packed row as bytes: MLX's LSB-first bitstream, code k at bit b·k
// (docs/kernels.md). The one decoder of the format; quant's unpack_codes calls it too.
inline void unpack_code_bytes(const uint8_t* row, int bits, int64_t cols, uint8_t* codes) {
  const uint32_t mask = (1u << bits) - 1u;
  uint64_t acc = 0;
  int filled = 0;
  for (int64_t k = 0; k < cols; ++k) {
    if (filled < bits) {
      acc |= static_cast<uint64_t>(*row++) << filled;
      filled += 8;
    }
    codes[k] = static_cast<uint8_t>(acc & mask);
    acc >>= bits;
    filled -= bits;
  }
}

struct WeightMatrix {
  enum class Format : uint8_t { Dense, Affine };

  Format format = Format::Dense;
  DType dtype = DType::F32;  // Dense: element type. Affine: type of scales and biases.
  int bits = 0;              // Affine only: 2, 3, 4, 5, 6, 8
  int group_size = 0;        // Affine only: 32, 64, 128
  int64_t rows = 0;
  int64_t cols = 0;
  // Row-major, rows contiguous. May be unaligned (MLX files are not padded).
  const uint8_t* data = nullptr;
  const uint8_t* scales = nullptr;  // Affine: [rows, cols / group_size]
  const uint8_t* biases = nullptr;  // Affine: [rows, cols / group_size]
  // Affine only: how the bytes are ordered. Rows: MLX's (above). Rows16: the same bytes
  // permuted so that each block of 16 rows is interleaved by 4-byte column (and its scales and
  // biases by group), as the 2-bit Int8 kernel of linear_q8_rows16.cpp reads them; a block of 16
  // rows is still contiguous, so row offsets (row_slice) are unchanged, in whole blocks.
  enum class Layout : uint8_t { Rows, Rows16 };
  Layout layout = Layout::Rows;

  bool quantized() const { return format == Format::Affine; }
  // Index of row r's group g among the scales (and biases), in either layout.
  int64_t param_index(int64_t r, int64_t g) const {
    const int64_t groups = groups_per_row();
    if (layout == Layout::Rows16) return ((r / 16) * groups + g) * 16 + r % 16;
    return r * groups + g;
  }
  // Row r's packed bytes in MLX order (row_bytes() of them) into `out`: gathered from its block
  // when interleaved (a slow path: references, tests and fallbacks).
  void copy_row(int64_t r, uint8_t* out) const {
    const size_t rb = row_bytes();
    if (layout == Layout::Rows) {
      for (size_t i = 0; i < rb; ++i) out[i] = data[static_cast<size_t>(r) * rb + i];
      return;
    }
    const uint8_t* block = data + static_cast<size_t>(r / 16) * 16 * rb;
    for (size_t j = 0; j < rb / 4; ++j)
      for (size_t i = 0; i < 4; ++i) out[4 * j + i] = block[(j * 16 + static_cast<size_t>(r % 16)) * 4 + i];
  }
  // Bytes of one row of `data`.
  size_t row_bytes() const {
    return quantized() ? static_cast<size_t>(cols) * bits / 8
                       : static_cast<size_t>(cols) * dtype_size(dtype);
  }
  int64_t groups_per_row() const { return quantized() ? cols / group_size : 0; }
  // Bytes of weights a full pass reads (codes + scales + biases), for bandwidth accounting.
  size_t total_bytes() const {
    size_t b = row_bytes() * rows;
    if (quantized()) b += 2 * static_cast<size_t>(rows) * groups_per_row() * dtype_size(dtype);
    return b;
  }
  // Rows [begin, begin + count) as their own matrix (an expert of a stacked tensor, or one part
  // of a fused projection).
  WeightMatrix row_slice(int64_t begin, int64_t count) const {
    if (begin < 0 || count < 0 || begin + count > rows)
      throw std::out_of_range("WeightMatrix::row_slice out of range");
    if (layout == Layout::Rows16 && (begin % 16 != 0 || count % 16 != 0))
      throw std::out_of_range("WeightMatrix::row_slice of interleaved rows: whole blocks of 16 only");
    WeightMatrix w = *this;
    w.rows = count;
    w.data = data + static_cast<size_t>(begin) * row_bytes();
    if (quantized()) {
      const size_t srow = static_cast<size_t>(groups_per_row()) * dtype_size(dtype);
      w.scales = scales + begin * srow;
      w.biases = biases + begin * srow;
    }
    return w;
  }
};

}  // namespace tf
