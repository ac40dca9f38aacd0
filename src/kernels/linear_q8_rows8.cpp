// 2- and 3-bit affine weights × int8 activations on 256-bit x86 (AVX2, AVX-VNNI, AVX-512
// without VBMI) with the rows interleaved once, at load, in blocks of 8: the 256-bit
// counterpart of linear_q8_rows16.cpp. Same math as reference::matmul_q8:
//   y[t][n] = Σ_g s_{n,g} · d_{t,g} · Σ_{k∈g} q_{n,k} · x_q[t][k]  +  β_{n,g} · Σ_{k∈g} x[t][k].
//
// Why: the row kernels (linear_q8_avx2-inl.h) put 32 codes of one row in a vector, so each
// group of each row ends in a widening, a convert and a multiply-add, and each row in its scale
// conversion and a horizontal sum — on a Zen 3 a decode step ran at ~9 GB/s of weights per core,
// short of the memory's pace. Here a vector holds 4 codes of each of 8 rows, one token's 4
// matching activation bytes are broadcast, and one byte dot product advances 8 rows by 4 codes;
// a group's epilogue serves 8 rows and a block ends in one store.
//
// Layout (q8_rows8_interleave, WeightMatrix::interleaved_place with n = 8), per block of 8 rows:
//   2-bit: for each dword column j of the packed rows (codes 16j … 16j + 15, MLX's LSB-first
//          order), the 8 rows' dwords side by side: 32 bytes. Plane p, (v >> 2p) & 3, holds code
//          16j + 4b + p of row r in byte 4r + b.
//   3-bit: per 32 codes 96 bytes, three vectors X, Y, Z whose byte 4r + b holds the 8 planes
//          h = 4c + p (code 32m + 16c + 4b + p) of row r: planes 0, 1 / 3, 4 / 6, 7 whole at
//          bits 0 and 3 of X / Y / Z, planes 2 and 5 with their low bits at bit 6 of X / Y and
//          their high bits at bits 6 and 7 of Z (the 16-row layout keeps the high bits as byte
//          masks for AVX-512's mask registers, which AVX2 lacks).
// Scales and biases likewise: per block, per group, the 8 rows' values side by side in their own
// dtype. The interleaved matrix is exactly as large as MLX's and a block is contiguous.
//
// The activations are in planes order (position 16j + 4p + b holds x[16j + 4b + p], as for the
// 16-row kernel), so plane (j, p) meets the 4 bytes at 16j + 4p. Per plane: 2-bit a quarter of a
// load, a shift (but plane 0) and a mask; 3-bit ~2.4 operations (19 per 8 planes, Quad); then
// per token one vpdpbusd, or one vpmaddubsw and one int16 add (a group of 64 codes
// adds in int16 before one vpmaddwd). Batches of more than 4 tokens (prefill) unpack each block
// once into the 256-bit tile kernel's layout (q8_rows8_unpack_block, linear_q8_tiles_avx2.cpp)
// and reuse it for every token.
#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <type_traits>
#include <vector>

#include "kernels/linear.h"
#include "kernels/linear_internal.h"
#include "kernels/x86_features.h"

#if defined(__x86_64__)
#include <immintrin.h>

#include "kernels/transpose_avx2.h"
#endif

namespace tf::simd {

namespace {
constexpr int64_t kRows8 = 8;
// Most tokens a block's codes are unpacked in registers for; more go through the tile kernel.
constexpr int64_t kRows8MaxDirectTokens = 4;
// How far ahead of its loads the kernel asks for the codes (as the 16-row kernel does: the
// hardware prefetchers alone leave one core short of DRAM bandwidth on an expert's short
// stream). Reading past a matrix's end only prefetches.
constexpr int64_t kRows8PrefetchBytes = 1536;
}  // namespace

bool q8_rows8_layout_fits(const WeightMatrix& w) {
  return w.quantized() && (w.bits == 2 || w.bits == 3) && w.rows % kRows8 == 0 && w.cols % 32 == 0 &&
         (w.group_size == 32 || w.group_size == 64 || w.group_size == 128) &&
         (w.dtype == DType::BF16 || w.dtype == DType::F16 || w.dtype == DType::F32);
}

namespace {

// The codes of block b, scalar (interleaved_layout.cpp): the definition the fast versions below
// are tested against (tests/kernels).
void InterleaveCodesScalar(const WeightMatrix& w, int64_t b, uint8_t* codes) {
  q8_interleave_codes_scalar(w, kRows8, b, codes);
}

#if defined(__x86_64__)
// 2-bit: one 8 × 8 dword transpose per 32 bytes of the 8 rows (a dword at a time past the last
// whole 32).
__attribute__((target("avx2"))) void InterleaveCodes2(const WeightMatrix& w, int64_t b, uint8_t* codes) {
  const int64_t columns = w.cols / 16;
  const size_t row_bytes = w.row_bytes();
  const uint8_t* rows = w.data + static_cast<size_t>(b * kRows8) * row_bytes;
  uint8_t* block = codes + static_cast<size_t>(b * kRows8) * row_bytes;
  int64_t j = 0;
  for (; j + 8 <= columns; j += 8) {
    __m256i v[8];
#pragma GCC unroll 8
    for (int r = 0; r < 8; ++r) v[r] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(rows + r * row_bytes + 4 * j));
    transpose8_dwords(v);
#pragma GCC unroll 8
    for (int i = 0; i < 8; ++i) _mm256_storeu_si256(reinterpret_cast<__m256i*>(block + (j + i) * 32), v[i]);
  }
  for (; j < columns; ++j)
    for (int r = 0; r < 8; ++r) std::memcpy(block + (j * kRows8 + r) * 4, rows + r * row_bytes + 4 * j, 4);
}

#endif

// 3-bit, 32 codes (12 bytes) of a row at a time. Byte b of each vector takes codes 4b … 4b + 3
// of each half (planes 0–3 from the first 16 codes, 4–7 from the second): 12 bits of the MLX
// bitstream per half, F0 and F1, planes h and h + 1 at bits 3h … Then X is F0's low byte (planes
// 0, 1 and plane 2's low bits), Y plane 3 with F1's low five bits above it, Z F1's planes 6, 7 and
// the high bits of planes 2 (F0 bit 8) and 5 (F1 bit 5).
void InterleaveCodes3(const WeightMatrix& w, int64_t b, uint8_t* codes) {
  const size_t row_bytes = w.row_bytes();
  const int64_t chunks = w.cols / 32;
  uint8_t* block = codes + static_cast<size_t>(b * kRows8) * row_bytes;
  for (int64_t r = 0; r < kRows8; ++r) {
    const uint8_t* row = w.data + (b * kRows8 + r) * row_bytes;
    for (int64_t m = 0; m < chunks; ++m) {
      uint64_t half[2] = {0, 0};
      std::memcpy(&half[0], row + 12 * m, 6);  // codes 32m … 32m + 15: 48 bits
      std::memcpy(&half[1], row + 12 * m + 6, 6);
      uint8_t* chunk = block + m * 96 + 4 * r;
      for (int k = 0; k < 4; ++k) {
        const uint32_t f0 = static_cast<uint32_t>(half[0] >> (12 * k)) & 0xfffu;
        const uint32_t f1 = static_cast<uint32_t>(half[1] >> (12 * k)) & 0xfffu;
        chunk[k] = static_cast<uint8_t>(f0);
        chunk[32 + k] = static_cast<uint8_t>((f0 >> 9) | ((f1 & 0x1fu) << 3));
        chunk[64 + k] = static_cast<uint8_t>(((f1 >> 6) & 0x3fu) | (((f0 >> 8) & 1u) << 6) | (((f1 >> 5) & 1u) << 7));
      }
    }
  }
}

}  // namespace

void q8_rows8_interleave(const WeightMatrix& w, uint8_t* codes, uint8_t* scales, uint8_t* biases) {
  if (!q8_rows8_layout_fits(w) || w.layout != WeightMatrix::Layout::Rows)
    throw std::invalid_argument("q8_rows8_interleave: unsupported matrix");
  const int64_t blocks = w.rows / kRows8;
  auto codes_of_block = InterleaveCodesScalar;
#if defined(__x86_64__)
  if (w.bits == 2 && x86_features().avx2) codes_of_block = InterleaveCodes2;
#endif
  if (w.bits == 3) codes_of_block = InterleaveCodes3;
  for (int64_t b = 0; b < blocks; ++b) codes_of_block(w, b, codes);
  q8_interleave_params(w, kRows8, scales, biases);
}

#if defined(__x86_64__)

namespace rows8_maddubs {
#define TF_Q8_DOT 0
#define TF_Q8_ATTR __attribute__((target("avx2,fma,f16c")))
#include "kernels/linear_q8_rows8-inl.h"
#undef TF_Q8_ATTR
#undef TF_Q8_DOT
}  // namespace rows8_maddubs

namespace rows8_avx_vnni {
#define TF_Q8_DOT 1
#define TF_Q8_ATTR __attribute__((target("avx2,fma,f16c,avxvnni")))
#include "kernels/linear_q8_rows8-inl.h"
#undef TF_Q8_ATTR
#undef TF_Q8_DOT
}  // namespace rows8_avx_vnni

namespace rows8_avx512_vnni {
#define TF_Q8_DOT 2
#define TF_Q8_ATTR __attribute__((target("avx2,fma,f16c,avx512f,avx512vl,avx512vnni")))
#include "kernels/linear_q8_rows8-inl.h"
#undef TF_Q8_ATTR
#undef TF_Q8_DOT
}  // namespace rows8_avx512_vnni

bool q8_rows8_supported() { return q8_dot256() >= 0; }

// Block `blk`'s codes in the tile kernel's layout: quad q (activation bytes 4q … 4q + 3, planes
// order) of the 8 rows as 8 dwords at quads + 8q — the planes of the direct kernel, stored.
__attribute__((target("avx2,fma,f16c"))) void q8_rows8_unpack_block(const WeightMatrix& w, int64_t blk,
                                                                    int32_t* quads) {
  const uint8_t* codes = w.data + static_cast<size_t>(blk * kRows8) * w.row_bytes();
  const int64_t quads_per_row = w.cols / 4;
  // Quad is templated on nothing but the width; a group of 32 codes at a time keeps q constant.
  for (int64_t q0 = 0; q0 < quads_per_row; q0 += 8) {
    const uint8_t* part = codes + q0 * 4 * w.bits;  // 8 quads = 32 codes of 8 rows: 32 · b bytes
#pragma GCC unroll 8
    for (int q = 0; q < 8; ++q) {
      const __m256i v = w.bits == 2 ? rows8_maddubs::Quad<2>(part, q) : rows8_maddubs::Quad<3>(part, q);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(quads + (q0 + q) * kRows8), v);
    }
  }
}

void q8_rows8_rows(Q8Dot256 dot, const WeightMatrix& w, const Q8TileInput& in, int64_t row_begin,
                   int64_t row_end, float* y, int64_t y_stride) {
  if (!q8_rows8_layout_fits(w) || w.layout != WeightMatrix::Layout::Rows8 || !q8_dot256_supported(dot) ||
      row_begin % kRows8 != 0 || row_end % kRows8 != 0)
    throw std::logic_error("q8_rows8_rows: unsupported call");
  if (in.tokens > kRows8MaxDirectTokens)
    return q8_avx2_tiles_rows(dot, w, in, row_begin, row_end, y, y_stride);
  switch (dot) {
    case Q8Dot256::Maddubs: return rows8_maddubs::Blocks(w, in, row_begin, row_end, y, y_stride);
    case Q8Dot256::AvxVnni: return rows8_avx_vnni::Blocks(w, in, row_begin, row_end, y, y_stride);
    case Q8Dot256::Avx512Vnni: return rows8_avx512_vnni::Blocks(w, in, row_begin, row_end, y, y_stride);
  }
}

#else

bool q8_rows8_supported() { return false; }
void q8_rows8_unpack_block(const WeightMatrix&, int64_t, int32_t*) {
  throw std::logic_error("q8_rows8_unpack_block: x86-64 only");
}
void q8_rows8_rows(Q8Dot256, const WeightMatrix&, const Q8TileInput&, int64_t, int64_t, float*, int64_t) {
  throw std::logic_error("q8_rows8_rows: x86-64 only");
}

#endif

}  // namespace tf::simd
