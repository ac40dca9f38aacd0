// 2- and 3-bit affine weights × int8 activations with the rows interleaved once, ahead of
// time, in blocks of 16 (AVX-512 VNNI): the tile kernel's layout (linear_q8_tiles.cpp) without
// its per-call repack. Same math as reference::matmul_q8:
//   y[t][n] = Σ_g s_{n,g} · d_{t,g} · Σ_{k∈g} q_{n,k} · x_q[t][k]  +  β_{n,g} · Σ_{k∈g} x[t][k].
//
// Layout (q8_rows16_interleave, WeightMatrix::interleaved_place): for each block of 16 rows and each
// dword column j of the packed rows (codes 16j … 16j + 15 of a row, 2 bits each, MLX's LSB-first
// order), the 16 rows' dwords j side by side — 64 bytes, one vector, lane r = row r of the
// block. 3-bit rows are split, per 32 codes, into the two 2-bit columns of their low bits and
// one vector of their high bits, as eight 64-bit byte masks (one per plane, below); the same
// bytes as MLX's 3 · 32 / 8 per row. Either way the interleaved matrix is exactly as large as
// the MLX one, and a block of 16 rows is still contiguous (an expert's rows stay one slice).
// Scales and biases likewise: per block, per group, the 16 rows' values side by side in their
// own dtype.
//
// Plane p of a column, (dword >> 2p) & 0x03030303, holds code 16j + 4b + p in byte b — the
// activations in the tiles' planes order (q8_tiles_quantize with bits 2) have the matching 4
// bytes at 16j + 4p — so one vpdpbusd with an embedded broadcast advances 16 rows by 4 codes of
// one token. For 3 bits the plane's low bits come from one vgf2p8affineqb (a bit matrix: shift
// and mask in one operation), and its high bits from a byte-masked add of 4 whose mask is
// loaded straight from the high-bit vector. Per plane (16 rows × 4 codes): 2-bit a quarter of a
// load, a shift (but plane 0) and a mask; 3-bit a quarter of a load, a mask load, a bit-matrix
// operation (plane 0: a mask) and a masked add; then per token one vpdpbusd. The group's
// epilogue (a convert, a multiply and two multiply-adds) serves 16 rows; no horizontal sums (a
// token's 16 outputs are one store). The row kernels spend a convert and a multiply-add per
// group, row and token and a horizontal sum per row and token.
#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "kernels/linear.h"
#include "kernels/linear_internal.h"
#include "kernels/x86_features.h"

#if defined(__x86_64__)
#include <immintrin.h>
#define TF_TILES_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512vbmi,avx512vnni")))
// The 3-bit kernel's, with GFNI (every CPU with AVX-512 VBMI and VNNI has it; checked all the same).
#define TF_TILES3_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512vbmi,avx512vnni,gfni")))
#endif

namespace tf::simd {

namespace {
constexpr int64_t kRows16 = 16;
constexpr int64_t kColumnCodes = 16;  // codes in one dword of a 2-bit row
}  // namespace

bool q8_rows16_layout_fits(const WeightMatrix& w) {
  return w.quantized() && (w.bits == 2 || w.bits == 3) && w.rows % kRows16 == 0 && w.cols % 256 == 0 &&
         (w.group_size == 32 || w.group_size == 64 || w.group_size == 128) &&
         (w.dtype == DType::BF16 || w.dtype == DType::F16 || w.dtype == DType::F32);
}

namespace {

// The codes of block b, scalar (interleaved_layout.cpp): the definition the fast versions below
// are tested against (tests/kernels).
void InterleaveCodesScalar(const WeightMatrix& w, int64_t b, uint8_t* codes) {
  q8_interleave_codes_scalar(w, kRows16, b, codes);
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

// 3-bit rows, 32 codes (12 bytes) of a row at a time: pext gathers the 16 codes' low bit pairs
// of each half into a 2-bit dword, and each plane's 4 high bits into the row's nibble of that
// plane's byte mask (WeightMatrix::interleaved_place).
__attribute__((target("bmi2"))) void InterleaveCodes3(const WeightMatrix& w, int64_t b, uint8_t* codes) {
  constexpr uint64_t kLow = 0x00006DB6DB6DB6DBULL;   // bits 3k and 3k + 1, k < 16
  constexpr uint64_t kHigh = 0x0000924924924924ULL;  // bits 3k + 2
  const size_t row_bytes = w.row_bytes();
  const int64_t pairs = w.cols / 32;
  uint8_t* block = codes + static_cast<size_t>(b * kRows16) * row_bytes;
  std::memset(block, 0, kRows16 * row_bytes);  // the high bits are ORed in
  for (int64_t r = 0; r < kRows16; ++r) {
    const uint8_t* row = w.data + (b * kRows16 + r) * row_bytes;
    for (int64_t m = 0; m < pairs; ++m) {
      uint64_t half[2] = {0, 0};
      std::memcpy(&half[0], row + 12 * m, 6);  // codes 32m … 32m + 15: 48 bits
      std::memcpy(&half[1], row + 12 * m + 6, 6);
      uint8_t* pair = block + m * 3 * 64;
      for (int c = 0; c < 2; ++c) {
        const uint32_t low = static_cast<uint32_t>(_pext_u64(half[c], kLow));
        std::memcpy(pair + (c * kRows16 + r) * 4, &low, 4);
        // High bits (bit 4b + p: code 4b + p of the half) to plane (c, p)'s mask, bits 4r … 4r + 3.
        const uint64_t high = _pext_u64(half[c], kHigh);
        for (int p = 0; p < 4; ++p)
          pair[128 + 8 * (4 * c + p) + r / 2] |= static_cast<uint8_t>(_pext_u64(high, 0x1111ULL << p) << (4 * (r % 2)));
      }
    }
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
  if (w.bits == 2 && HaveTiles512Features()) codes_of_block = InterleaveCodes512;
  if (w.bits == 3 && x86_features().bmi2) codes_of_block = InterleaveCodes3;
#endif
  for (int64_t b = 0; b < blocks; ++b) codes_of_block(w, b, codes);
  q8_interleave_params(w, kRows16, scales, biases);
}

#if defined(__x86_64__)
namespace {

// How far ahead of its loads a kernel asks for the block's code bytes (the next block's when the
// end is near: a matrix's blocks are contiguous). The hardware prefetcher alone leaves one core
// short of the DRAM bandwidth on these short streams (an expert's matrix is 256 KB); 1536 bytes
// (24 lines) measured decode 1.10× and four sequences 1.06× (bench/RESULTS.md, "Software
// prefetch in the 16-row tile kernels"). Reading past a matrix's end only prefetches.
constexpr int64_t kPrefetchBytes = 1536;
TF_TILES_TARGET inline void PrefetchAhead(const uint8_t* p) {
  _mm_prefetch(reinterpret_cast<const char*>(p + kPrefetchBytes), _MM_HINT_T0);
}

// 16 values of one group of a block (their dtype) as float.
TF_TILES_TARGET inline __m512 Load16(const uint8_t* p, DType dt) {
  if (dt == DType::BF16)
    return _mm512_castsi512_ps(_mm512_slli_epi32(
        _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))), 16));
  if (dt == DType::F16) return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  return _mm512_loadu_ps(reinterpret_cast<const float*>(p));
}

// Independent vpdpbusd chains per token: a tile of two tokens would otherwise wait on its
// accumulators' latency (two chains each: 1.15× as fast; one token measured no different with
// four, and no slower); plane p adds into chain p % kChains, summed once per group. Integer
// sums: the result does not depend on the split.
template <int kT>
constexpr int kChains = kT == 1 ? 4 : kT == 2 ? 2 : 1;

template <int kT>
TF_TILES_TARGET inline const __m512i* SumChains(__m512i (&chain)[kChains<kT>][kT]) {
#pragma GCC unroll 8
  for (int q = 1; q < kChains<kT>; ++q)
#pragma GCC unroll 8
    for (int t = 0; t < kT; ++t) chain[0][t] = _mm512_add_epi32(chain[0][t], chain[q][t]);
  return chain[0];
}

// The epilogue of group g for kT tokens: f[t] += s · d_t · acc[t] + β · Σx_t, the group's 16
// scales and biases read in their dtype (the math in this file's first comment).
template <int kT>
TF_TILES_TARGET inline __attribute__((always_inline)) void AddGroup(
    __m512 (&f)[kT], const __m512i* acc, const uint8_t* scales, const uint8_t* biases, DType dt,
    const Q8TileInput& in, int64_t t0, int64_t groups, int64_t g) {
  const __m512 s = Load16(scales, dt);
  const __m512 bias = Load16(biases, dt);
#pragma GCC unroll 8
  for (int t = 0; t < kT; ++t) {
    const int64_t ti = (t0 + t) * groups + g;
    f[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc[t]), _mm512_mul_ps(s, _mm512_set1_ps(in.deltas[ti])), f[t]);
    f[t] = _mm512_fmadd_ps(bias, _mm512_set1_ps(in.group_sums[ti]), f[t]);
  }
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
    __m512i chain[kChains<kT>][kT];
#pragma GCC unroll 8
    for (int c = 0; c < kChains<kT>; ++c)
#pragma GCC unroll 8
      for (int t = 0; t < kT; ++t) chain[c][t] = _mm512_setzero_si512();
    for (int64_t j = g * G / kColumnCodes; j < (g + 1) * G / kColumnCodes; ++j) {
      const __m512i v = _mm512_loadu_si512(codes + j * kRows16 * 4);
      PrefetchAhead(codes + j * kRows16 * 4);
#pragma GCC unroll 4
      for (int p = 0; p < 4; ++p) {
        const __m512i plane = _mm512_and_si512(p == 0 ? v : _mm512_srli_epi32(v, 2 * p), mask);
        const int8_t* x = x0 + kColumnCodes * j + 4 * p;
#pragma GCC unroll 8
        for (int t = 0; t < kT; ++t)
          chain[p % kChains<kT>][t] = DotBroadcast(chain[p % kChains<kT>][t], plane, x + t * in.stride);
      }
    }
    AddGroup<kT>(f, SumChains<kT>(chain), scales + static_cast<size_t>(g * kRows16) * e,
                 biases + static_cast<size_t>(g * kRows16) * e, w.dtype, in, t0, groups, g);
  }
#pragma GCC unroll 8
  for (int t = 0; t < kT; ++t) _mm512_storeu_ps(y + (t0 + t) * y_stride + b * kRows16, f[t]);
}

// kT tokens (t0 …) against the 16 3-bit rows of block `b`: per 32 codes, the two low-bit
// columns and the high-bit masks (WeightMatrix::interleaved_place); plane (c, p) is
// ((low_c >> 2p) & 3) + 4 where mask 4c + p has the byte's bit.
template <int kT>
TF_TILES3_TARGET void BlockTokens3(const WeightMatrix& w, int64_t b, const Q8TileInput& in, int64_t t0,
                                   float* y, int64_t y_stride) {
  const int64_t groups = w.groups_per_row();
  const int64_t pairs_per_group = w.group_size / 32;
  const size_t e = dtype_size(w.dtype);
  const uint8_t* codes = w.data + static_cast<size_t>(b * kRows16) * w.row_bytes();
  const uint8_t* scales = w.scales + static_cast<size_t>(b * groups * kRows16) * e;
  const uint8_t* biases = w.biases + static_cast<size_t>(b * groups * kRows16) * e;
  const int8_t* x0 = in.values + t0 * in.stride;
  const __m512i mask = _mm512_set1_epi8(3), four = _mm512_set1_epi8(4);
  __m512 f[kT];
#pragma GCC unroll 8
  for (int t = 0; t < kT; ++t) f[t] = _mm512_setzero_ps();
  for (int64_t g = 0; g < groups; ++g) {
    __m512i chain[kChains<kT>][kT];
#pragma GCC unroll 8
    for (int q = 0; q < kChains<kT>; ++q)
#pragma GCC unroll 8
      for (int t = 0; t < kT; ++t) chain[q][t] = _mm512_setzero_si512();
    for (int64_t m = g * pairs_per_group; m < (g + 1) * pairs_per_group; ++m) {
      const uint8_t* v = codes + m * 3 * 64;
#pragma GCC unroll 3
      for (int line = 0; line < 3; ++line) PrefetchAhead(v + 64 * line);
#pragma GCC unroll 2
      for (int c = 0; c < 2; ++c) {
        const __m512i low = _mm512_loadu_si512(v + 64 * c);
#pragma GCC unroll 4
        for (int p = 0; p < 4; ++p) {
          // (low >> 2p) & 3 in each byte: for p > 0 one vgf2p8affineqb (output bit i from matrix
          // byte 7 - i: bits 0 and 1 from input bits 2p and 2p + 1).
          const __m512i l =
              p == 0 ? _mm512_and_si512(low, mask)
                     : _mm512_gf2p8affine_epi64_epi8(
                           low, _mm512_set1_epi64(static_cast<long long>(((1ULL << (2 * p)) << 56) | ((1ULL << (2 * p + 1)) << 48))), 0);
          // + 4 in the bytes whose code has its high bit set: the plane's 64-bit byte mask.
          uint64_t bits;
          std::memcpy(&bits, v + 128 + 8 * (4 * c + p), 8);
          const __m512i plane = _mm512_mask_add_epi8(l, static_cast<__mmask64>(bits), l, four);
          const int8_t* x = x0 + 16 * (2 * m + c) + 4 * p;
#pragma GCC unroll 8
          for (int t = 0; t < kT; ++t)
            chain[p % kChains<kT>][t] = DotBroadcast(chain[p % kChains<kT>][t], plane, x + t * in.stride);
        }
      }
    }
    AddGroup<kT>(f, SumChains<kT>(chain), scales + static_cast<size_t>(g * kRows16) * e,
                 biases + static_cast<size_t>(g * kRows16) * e, w.dtype, in, t0, groups, g);
  }
#pragma GCC unroll 8
  for (int t = 0; t < kT; ++t) _mm512_storeu_ps(y + (t0 + t) * y_stride + b * kRows16, f[t]);
}

// Every token of `in` against blocks [row_begin / 16, row_end / 16), in tiles of up to 8.
template <template <int> class Kernel>
TF_TILES3_TARGET void Rows(const WeightMatrix& w, const Q8TileInput& in, int64_t row_begin,
                           int64_t row_end, float* y, int64_t y_stride) {
  for (int64_t b = row_begin / kRows16; b < row_end / kRows16; ++b) {
    int64_t t = 0;
    for (; t + 8 <= in.tokens; t += 8) Kernel<8>::run(w, b, in, t, y, y_stride);
    switch (in.tokens - t) {
      case 7: Kernel<7>::run(w, b, in, t, y, y_stride); break;
      case 6: Kernel<6>::run(w, b, in, t, y, y_stride); break;
      case 5: Kernel<5>::run(w, b, in, t, y, y_stride); break;
      case 4: Kernel<4>::run(w, b, in, t, y, y_stride); break;
      case 3: Kernel<3>::run(w, b, in, t, y, y_stride); break;
      case 2: Kernel<2>::run(w, b, in, t, y, y_stride); break;
      case 1: Kernel<1>::run(w, b, in, t, y, y_stride); break;
      default: break;
    }
  }
}

template <int kT>
struct Codes2 {
  TF_TILES_TARGET static void run(const WeightMatrix& w, int64_t b, const Q8TileInput& in, int64_t t0,
                                  float* y, int64_t y_stride) {
    BlockTokens<kT>(w, b, in, t0, y, y_stride);
  }
};
template <int kT>
struct Codes3 {
  TF_TILES3_TARGET static void run(const WeightMatrix& w, int64_t b, const Q8TileInput& in, int64_t t0,
                                   float* y, int64_t y_stride) {
    BlockTokens3<kT>(w, b, in, t0, y, y_stride);
  }
};

}  // namespace

bool q8_rows16_supported() {
  const X86Features& cpu = x86_features();
  return HaveTiles512Features() && cpu.gfni && cpu.bmi2 && q8_vnni512();
}

void q8_rows16_rows(const WeightMatrix& w, const Q8TileInput& in, int64_t row_begin, int64_t row_end,
                    float* y, int64_t y_stride) {
  if (!q8_rows16_supported() || !q8_rows16_layout_fits(w) || w.layout != WeightMatrix::Layout::Rows16 ||
      row_begin % kRows16 != 0 || row_end % kRows16 != 0)
    throw std::logic_error("q8_rows16_rows: unsupported call");
  if (w.bits == 2)
    Rows<Codes2>(w, in, row_begin, row_end, y, y_stride);
  else
    Rows<Codes3>(w, in, row_begin, row_end, y, y_stride);
}

#else

bool q8_rows16_supported() { return false; }
void q8_rows16_rows(const WeightMatrix&, const Q8TileInput&, int64_t, int64_t, float*, int64_t) {
  throw std::logic_error("q8_rows16_rows: x86-64 only");
}

#endif

}  // namespace tf::simd
