// 2-bit affine weights × int8 activations with the rows interleaved once, ahead of time, in
// blocks of 16 (AVX-512 VNNI): the tile kernel's layout (linear_q8_tiles.cpp) without its
// per-call repack. Same math as reference::matmul_q8:
//   y[t][n] = Σ_g s_{n,g} · d_{t,g} · Σ_{k∈g} q_{n,k} · x_q[t][k]  +  β_{n,g} · Σ_{k∈g} x[t][k].
//
// Layout (q8_rows16_interleave): for each block of 16 rows and each dword column j of the
// packed rows (codes 16j … 16j + 15 of a row, 2 bits each, MLX's LSB-first order), the 16 rows'
// dwords j side by side — 64 bytes, one vector, lane r = row r of the block. It is a permutation
// of the same bytes, so the interleaved matrix is exactly as large as the MLX one, and a block
// of 16 rows is still contiguous (an expert's rows stay one slice). Scales and biases likewise:
// per block, per group, the 16 rows' values side by side in their own dtype.
//
// Plane p of a column, (dword >> 2p) & 0x03030303, holds code 16j + 4b + p in byte b — the
// activations in the tiles' planes order (q8_tiles_quantize with bits 2) have the matching 4
// bytes at 16j + 4p — so one vpdpbusd with an embedded broadcast advances 16 rows by 4 codes of
// one token. Per 64 codes of a row and per token: a quarter of a load, 7/16 of a shift-and-mask
// and one vpdpbusd; the group's epilogue (a convert, a multiply and two multiply-adds) serves
// 16 rows; no horizontal sums (a token's 16 outputs are one store). The row kernels spend a
// convert and a multiply-add per group, row and token and a horizontal sum per row and token.
#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <utility>

#include "kernels/linear.h"
#include "kernels/linear_internal.h"
#include "kernels/x86_features.h"

#if defined(__x86_64__)
#include <immintrin.h>
#define TF_TILES_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512vbmi,avx512vnni")))
#endif

namespace tf::simd {

namespace {
constexpr int64_t kRows16 = 16;
constexpr int64_t kColumnCodes = 16;  // codes in one dword of a 2-bit row
}  // namespace

bool q8_rows16_layout_fits(const WeightMatrix& w) {
  return w.quantized() && w.bits == 2 && w.rows % kRows16 == 0 && w.cols % 256 == 0 &&
         (w.group_size == 32 || w.group_size == 64 || w.group_size == 128) &&
         (w.dtype == DType::BF16 || w.dtype == DType::F16 || w.dtype == DType::F32);
}

namespace {

// The codes of block b, scalar: dword j of row r of the block to ((b · columns + j) · 16 + r) · 4.
void InterleaveCodesScalar(const WeightMatrix& w, int64_t b, uint8_t* codes) {
  const int64_t columns = w.cols / kColumnCodes;  // dwords per row
  const size_t row_bytes = w.row_bytes();
  for (int64_t j = 0; j < columns; ++j)
    for (int64_t r = 0; r < kRows16; ++r)
      std::memcpy(codes + ((b * columns + j) * kRows16 + r) * 4, w.data + (b * kRows16 + r) * row_bytes + 4 * j, 4);
}

#if defined(__x86_64__)
#include "kernels/linear_q8_tiles_x86-inl.h"

// The same with one 16 × 16 dword transpose per 64 bytes of the 16 rows.
TF_TILES_TARGET void InterleaveCodes512(const WeightMatrix& w, int64_t b, uint8_t* codes) {
  const int64_t columns = w.cols / kColumnCodes;
  const size_t row_bytes = w.row_bytes();
  __m512i v[16];
  for (int64_t c = 0; c < columns / 16; ++c) {
#pragma GCC unroll 16
    for (int r = 0; r < 16; ++r) v[r] = _mm512_loadu_si512(w.data + (b * kRows16 + r) * row_bytes + 64 * c);
    Transpose16(v);
#pragma GCC unroll 16
    for (int j = 0; j < 16; ++j) _mm512_storeu_si512(codes + ((b * columns + 16 * c + j) * kRows16) * 4, v[j]);
  }
}

#endif

}  // namespace

void q8_rows16_interleave(const WeightMatrix& w, uint8_t* codes, uint8_t* scales, uint8_t* biases) {
  if (!q8_rows16_layout_fits(w) || w.layout != WeightMatrix::Layout::Rows)
    throw std::invalid_argument("q8_rows16_interleave: unsupported matrix");
  const int64_t blocks = w.rows / kRows16;
  auto codes_of_block = InterleaveCodesScalar;
#if defined(__x86_64__)
  if (HaveTiles512Features()) codes_of_block = InterleaveCodes512;
#endif
  for (int64_t b = 0; b < blocks; ++b) codes_of_block(w, b, codes);
  // Scales and biases: row 16b + r's group g to (b · groups + g) · 16 + r
  // (WeightMatrix::param_index), element by element in their own width.
  const int64_t groups = w.groups_per_row();
  const auto transpose = [&](auto element) {
    using T = decltype(element);
    for (const auto& [from, to] : {std::pair{w.scales, scales}, std::pair{w.biases, biases}})
      for (int64_t b = 0; b < blocks; ++b)
        for (int64_t r = 0; r < kRows16; ++r) {
          const uint8_t* src = from + static_cast<size_t>((b * kRows16 + r) * groups) * sizeof(T);
          uint8_t* dst = to + static_cast<size_t>(b * groups * kRows16 + r) * sizeof(T);
          for (int64_t g = 0; g < groups; ++g)
            std::memcpy(dst + static_cast<size_t>(g * kRows16) * sizeof(T), src + static_cast<size_t>(g) * sizeof(T), sizeof(T));
        }
  };
  if (dtype_size(w.dtype) == 2)
    transpose(uint16_t{});
  else
    transpose(uint32_t{});
}

#if defined(__x86_64__)
namespace {

// 16 values of one group of a block (their dtype) as float.
TF_TILES_TARGET inline __m512 Load16(const uint8_t* p, DType dt) {
  if (dt == DType::BF16)
    return _mm512_castsi512_ps(_mm512_slli_epi32(
        _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))), 16));
  if (dt == DType::F16) return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  return _mm512_loadu_ps(reinterpret_cast<const float*>(p));
}

// kT tokens (t0 …) against the 16 rows of block `b`: y[t][16b + r].
template <int kT>
TF_TILES_TARGET void BlockTokens(const WeightMatrix& w, int64_t b, const Q8TileInput& in, int64_t t0,
                                 float* y, int64_t y_stride) {
  const int64_t groups = w.groups_per_row();
  const int G = w.group_size;
  const int64_t columns = w.cols / kColumnCodes;
  const size_t e = dtype_size(w.dtype);
  const uint8_t* codes = w.data + b * columns * kRows16 * 4;
  const uint8_t* scales = w.scales + static_cast<size_t>(b * groups * kRows16) * e;
  const uint8_t* biases = w.biases + static_cast<size_t>(b * groups * kRows16) * e;
  const int8_t* x0 = in.values + t0 * in.stride;
  const __m512i mask = _mm512_set1_epi8(3);
  __m512 f[kT];
#pragma GCC unroll 8
  for (int t = 0; t < kT; ++t) f[t] = _mm512_setzero_ps();
  for (int64_t g = 0; g < groups; ++g) {
    __m512i acc[kT];
#pragma GCC unroll 8
    for (int t = 0; t < kT; ++t) acc[t] = _mm512_setzero_si512();
    for (int64_t j = g * G / kColumnCodes; j < (g + 1) * G / kColumnCodes; ++j) {
      const __m512i v = _mm512_loadu_si512(codes + j * kRows16 * 4);
#pragma GCC unroll 4
      for (int p = 0; p < 4; ++p) {
        const __m512i plane = _mm512_and_si512(p == 0 ? v : _mm512_srli_epi32(v, 2 * p), mask);
        const int8_t* x = x0 + kColumnCodes * j + 4 * p;
#pragma GCC unroll 8
        for (int t = 0; t < kT; ++t) acc[t] = DotBroadcast(acc[t], plane, x + t * in.stride);
      }
    }
    const __m512 s = Load16(scales + static_cast<size_t>(g * kRows16) * e, w.dtype);
    const __m512 bias = Load16(biases + static_cast<size_t>(g * kRows16) * e, w.dtype);
#pragma GCC unroll 8
    for (int t = 0; t < kT; ++t) {
      const int64_t ti = (t0 + t) * groups + g;
      f[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc[t]), _mm512_mul_ps(s, _mm512_set1_ps(in.deltas[ti])), f[t]);
      f[t] = _mm512_fmadd_ps(bias, _mm512_set1_ps(in.group_sums[ti]), f[t]);
    }
  }
#pragma GCC unroll 8
  for (int t = 0; t < kT; ++t) _mm512_storeu_ps(y + (t0 + t) * y_stride + b * kRows16, f[t]);
}

TF_TILES_TARGET void Rows(const WeightMatrix& w, const Q8TileInput& in, int64_t row_begin,
                          int64_t row_end, float* y, int64_t y_stride) {
  for (int64_t b = row_begin / kRows16; b < row_end / kRows16; ++b) {
    int64_t t = 0;
    for (; t + 8 <= in.tokens; t += 8) BlockTokens<8>(w, b, in, t, y, y_stride);
    switch (in.tokens - t) {
      case 7: BlockTokens<7>(w, b, in, t, y, y_stride); break;
      case 6: BlockTokens<6>(w, b, in, t, y, y_stride); break;
      case 5: BlockTokens<5>(w, b, in, t, y, y_stride); break;
      case 4: BlockTokens<4>(w, b, in, t, y, y_stride); break;
      case 3: BlockTokens<3>(w, b, in, t, y, y_stride); break;
      case 2: BlockTokens<2>(w, b, in, t, y, y_stride); break;
      case 1: BlockTokens<1>(w, b, in, t, y, y_stride); break;
      default: break;
    }
  }
}

}  // namespace

bool q8_rows16_supported() {
  return HaveTiles512Features() && q8_vnni512();
}

void q8_rows16_rows(const WeightMatrix& w, const Q8TileInput& in, int64_t row_begin, int64_t row_end,
                    float* y, int64_t y_stride) {
  if (!q8_rows16_supported() || !q8_rows16_layout_fits(w) || w.layout != WeightMatrix::Layout::Rows16 ||
      row_begin % kRows16 != 0 || row_end % kRows16 != 0)
    throw std::logic_error("q8_rows16_rows: unsupported call");
  Rows(w, in, row_begin, row_end, y, y_stride);
}

#else

bool q8_rows16_supported() { return false; }
void q8_rows16_rows(const WeightMatrix&, const Q8TileInput&, int64_t, int64_t, float*, int64_t) {
  throw std::logic_error("q8_rows16_rows: x86-64 only");
}

#endif

}  // namespace tf::simd
