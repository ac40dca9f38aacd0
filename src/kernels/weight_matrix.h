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
  // biases by group), as the Int8 kernel of linear_q8_rows16.cpp reads them (2- and 3-bit
  // codes; rows16_place says where each code goes); a block of 16 rows is still contiguous
  // (16 · row_bytes()), so row offsets (row_slice) are unchanged, in whole blocks.
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
    for (size_t i = 0; i < rb; ++i) out[i] = 0;
    for (int64_t k = 0; k < cols; ++k) {
      const Rows16Place at = rows16_place(bits, r % 16, k);
      uint32_t code = (block[at.low] >> at.low_shift) & 3u;
      if (bits == 3) code |= ((block[at.high] >> at.high_shift) & 1u) << 2;
      const int64_t bit = k * bits;  // MLX: LSB-first bitstream
      for (int i = 0; i < bits; ++i)
        if ((code >> i) & 1u) out[(bit + i) / 8] |= static_cast<uint8_t>(1u << ((bit + i) % 8));
    }
  }
  // Where code k of row `lane` (0 … 15) of a 16-row block lives in the Rows16 layout, relative
  // to the block's first byte: its two low bits at byte `low`, bits low_shift and low_shift + 1;
  // for 3-bit codes its high bit at byte `high`, bit high_shift. With k = 16j + 4b + p:
  //   2 bits: dword j of row `lane` at dword 16j + lane of the block — MLX's own dword, code
  //           16j + 4b + p in byte b at bit 2p;
  //   3 bits: per 32 codes (m = k / 32, c = j % 2) three 64-byte vectors: the low two bits of
  //           codes 32m … 32m + 15 in 2-bit form (vector 3m), of 32m + 16 … 32m + 31 (vector
  //           3m + 1), and their high bits (vector 3m + 2) as eight 64-bit byte masks, one per
  //           plane (c, p): bit 4·lane + b of mask 4c + p = code 32m + 16c + 4b + p's high bit
  //           (bit i of a mask: byte i of the plane's vector). The same 12 bytes per 32 codes as
  //           MLX's.
  struct Rows16Place {
    size_t low;
    int low_shift;
    size_t high;
    int high_shift;
  };
  static Rows16Place rows16_place(int bits, int64_t lane, int64_t k) {
    const int64_t b = (k % 16) / 4, p = k % 4;
    if (bits == 2) return {static_cast<size_t>(((k / 16) * 16 + lane) * 4 + b), static_cast<int>(2 * p), 0, 0};
    const int64_t m = k / 32, c = (k / 16) % 2;
    return {static_cast<size_t>(((3 * m + c) * 16 + lane) * 4 + b), static_cast<int>(2 * p),
            static_cast<size_t>((3 * m + 2) * 64 + 8 * (4 * c + p) + lane / 2),
            static_cast<int>(4 * (lane % 2) + b)};
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
