// How kernels see a weight matrix: [rows = N outputs, cols = K inputs], y = W x (spec §2.5).
// Either dense (F32 / F16 / BF16) or MLX affine-quantized (spec §5): packed codes, LSB-first
// bitstream per row, with per-group scale s and bias β in F16/BF16 (ŵ = s·q + β).
// Kernels know nothing about models: a model binds its tensors into WeightMatrix views.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

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
  // Affine only: how the bytes are ordered. Rows: MLX's (above). Rows16 / Rows8: the same
  // bytes permuted so that each block of 16 (8) rows is interleaved by 4-byte column (and its
  // scales and biases by group), as the Int8 kernels of linear_q8_rows16.cpp (AVX-512 VNNI) and
  // linear_q8_rows8.cpp (256-bit x86) read them (2- and 3-bit codes; interleaved_place says
  // where each code goes); a block of rows is still contiguous (block_rows() · row_bytes()),
  // so row offsets (row_slice) are unchanged, in whole blocks.
  enum class Layout : uint8_t { Rows, Rows16, Rows8 };
  Layout layout = Layout::Rows;

  bool quantized() const { return format == Format::Affine; }
  // Rows per interleaved block: 16, 8, or 1 in MLX's row layout.
  int64_t block_rows() const { return layout == Layout::Rows16 ? 16 : layout == Layout::Rows8 ? 8 : 1; }
  // Index of row r's group g among the scales (and biases), in any layout.
  int64_t param_index(int64_t r, int64_t g) const {
    const int64_t groups = groups_per_row(), n = block_rows();
    return ((r / n) * groups + g) * n + r % n;
  }
  // Row r's packed bytes in MLX order (row_bytes() of them) into `out`: gathered from its block
  // when interleaved (a slow path: references, tests and fallbacks).
  void copy_row(int64_t r, uint8_t* out) const {
    const size_t rb = row_bytes();
    if (layout == Layout::Rows) {
      for (size_t i = 0; i < rb; ++i) out[i] = data[static_cast<size_t>(r) * rb + i];
      return;
    }
    const int64_t n = block_rows();
    const uint8_t* block = data + static_cast<size_t>(r / n) * n * rb;
    for (size_t i = 0; i < rb; ++i) out[i] = 0;
    for (int64_t k = 0; k < cols; ++k) {
      const InterleavedPlace at = interleaved_place(bits, n, r % n, k);
      uint32_t code = (block[at.low] >> at.low_shift) & 3u;
      if (bits == 3) code |= ((block[at.high] >> at.high_shift) & 1u) << 2;
      const int64_t bit = k * bits;  // MLX: LSB-first bitstream
      for (int i = 0; i < bits; ++i)
        if ((code >> i) & 1u) out[(bit + i) / 8] |= static_cast<uint8_t>(1u << ((bit + i) % 8));
    }
  }
  // Where code k of row `lane` (0 … n − 1) of an interleaved block of n = 16 or 8 rows lives,
  // relative to the block's first byte: its two low bits at byte `low`, bits low_shift and
  // low_shift + 1; for 3-bit codes its high bit at byte `high`, bit high_shift. With
  // k = 16j + 4b + p:
  //   2 bits: dword j of row `lane` at dword n·j + lane of the block — MLX's own dword, code
  //           16j + 4b + p in byte b at bit 2p;
  //   3 bits: per 32 codes (m = k / 32, c = j % 2, plane h = 4c + p) three vectors of 4n
  //           bytes, v = 3m … 3m + 2, byte 4·lane + b of each. n = 16 (AVX-512: mask
  //           registers): the low two bits of codes 32m … 32m + 15 in 2-bit form (vector 3m),
  //           of 32m + 16 … 32m + 31 (vector 3m + 1), and their high bits as eight 64-bit byte
  //           masks, one per plane: bit 4·lane + b of mask h (vector 3m + 2). n = 8 (AVX2:
  //           shifts) keeps six planes' codes whole, three bits at bit 0 or 3 of a byte, and
  //           splits two: byte X (vector 3m) holds planes 0, 1 and the low bits of plane 2 at
  //           bits 0, 3, 6; byte Y (3m + 1) planes 3, 4 and the low bits of 5 likewise; byte Z
  //           (3m + 2) planes 6, 7 at bits 0, 3 and the high bits of planes 2 and 5 at bits 6
  //           and 7 — so a plane is one mask, a shift and a mask, or (planes 2 and 5) two of
  //           those and an or. The same 12 bytes per 32 codes as MLX's.
  struct InterleavedPlace {
    size_t low;
    int low_shift;
    size_t high;
    int high_shift;
  };
  static InterleavedPlace interleaved_place(int bits, int64_t n, int64_t lane, int64_t k) {
    const int64_t b = (k % 16) / 4, p = k % 4;
    if (bits == 2) return {static_cast<size_t>(((k / 16) * n + lane) * 4 + b), static_cast<int>(2 * p), 0, 0};
    const int64_t m = k / 32, c = (k / 16) % 2;
    if (n == 16) {
      const size_t low = static_cast<size_t>(((3 * m + c) * n + lane) * 4 + b);
      const size_t highs = static_cast<size_t>((3 * m + 2) * n * 4);
      return {low, static_cast<int>(2 * p), highs + static_cast<size_t>(8 * (4 * c + p) + lane / 2),
              static_cast<int>(4 * (lane % 2) + b)};
    }
    // n = 8: plane h's byte (vector v) and the bit of its code's lowest bit; planes 2 and 5 keep
    // their high bit in vector 3m + 2 at bits 6 and 7.
    const int64_t h = 4 * c + p, v = h / 3, at = 3 * (h % 3);
    const size_t byte = static_cast<size_t>((3 * m + v) * n * 4 + 4 * lane + b);
    if (h == 2 || h == 5)
      return {byte, 6, static_cast<size_t>((3 * m + 2) * n * 4 + 4 * lane + b), h == 2 ? 6 : 7};
    return {byte, static_cast<int>(at), byte, static_cast<int>(at + 2)};
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
    if (begin % block_rows() != 0 || count % block_rows() != 0)
      throw std::out_of_range("WeightMatrix::row_slice of interleaved rows: whole blocks of " +
                              std::to_string(block_rows()) + " only");
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
