// Quantized weights × int8 activations for batches of tokens (prefill) on 256-bit x86: the
// 256-bit counterpart of linear_q8_tiles.cpp (AVX-512 VNNI, 16 rows per vector), the same math
// (reference::matmul_q8),
//   y[t][n] = Σ_g s_{n,g} · d_{t,g} · Σ_{k∈g} q_{n,k} · x_q[t][k]  +  β_{n,g} · Σ_{k∈g} x[t][k].
// A vector holds 4 codes of each of 8 rows; one token's 4 matching activation bytes are
// broadcast and one byte dot product advances 8 rows by 4 codes. The codes of a block of 8 rows
// are unpacked once per call (the row kernels' unpack, in the 32-code block order, which the
// activations are stored in too) and "transposed" into that layout; every token reuses them,
// and a group's epilogue (convert, scale, bias) serves 8 rows at once instead of one row's
// horizontal sum.
//
// The byte dot product is each CPU's (Q8Dot256, as for the row kernels): VEX vpdpbusd (AVX-VNNI),
// EVEX vpdpbusd on ymm (AVX-512 VNNI without VBMI), or vpmaddubsw + vpmaddwd (AVX2), which adds
// a whole group of 2- or 3-bit products in int16 before widening. On the compute core alone an
// Intel AVX-VNNI host measured this layout 0.9× the row kernel's with vpmaddubsw, but in the
// whole kernel the row layout's per-row work (scale conversion, horizontal sums: 30 % of its
// time) tips it, and AMD Zen 4 running the AVX2 code measured it faster (bench/RESULTS.md,
// "256-bit tiles with vpmaddubsw").
#include "kernels/linear.h"
#include "kernels/linear_internal.h"

#if defined(__x86_64__)
#include <immintrin.h>

#include "kernels/transpose_avx2.h"

#include <algorithm>
#include <cstring>
#include <vector>

// The shared parts (rounding, repacking) need nothing beyond AVX2.
#define TF_TILES256 __attribute__((target("avx2,fma,f16c")))

namespace tf::simd {

namespace {

constexpr int kRows = 8;  // rows per repacked block: one 32-bit lane each

// Bit-identical to reference::quantize_activations_q8: the same float max, 127/m, the float
// product rounded half to even (vroundps), clamped to ±127.
TF_TILES256 void QuantizeToken(const float* x, int64_t cols, int group_size, int8_t* q, float* d) {
  const __m256 sign = _mm256_set1_ps(-0.0f);
  for (int64_t g = 0; g < cols / group_size; ++g) {
    const float* xg = x + g * group_size;
    __m256 vmax = _mm256_setzero_ps();
    for (int j = 0; j < group_size; j += 8) vmax = _mm256_max_ps(vmax, _mm256_andnot_ps(sign, _mm256_loadu_ps(xg + j)));
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(vmax), _mm256_extractf128_ps(vmax, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
    const float m = _mm_cvtss_f32(m4);
    const float inv = m > 0.0f ? 127.0f / m : 0.0f;
    d[g] = m / 127.0f;
    const __m256 vinv = _mm256_set1_ps(inv), lo = _mm256_set1_ps(-127.0f), hi = _mm256_set1_ps(127.0f);
    for (int j = 0; j < group_size; j += 16) {
      __m256i v[2];
      for (int h = 0; h < 2; ++h) {
        const __m256 r = _mm256_round_ps(_mm256_mul_ps(_mm256_loadu_ps(xg + j + 8 * h), vinv),
                                         _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        v[h] = _mm256_cvtps_epi32(_mm256_min_ps(_mm256_max_ps(r, lo), hi));
      }
      // int32 → int16 → int8 (saturation never triggers: values are within ±127); the packs
      // work per 128-bit half, the permute puts the 16 bytes back in order.
      const __m256i w = _mm256_permute4x64_epi64(_mm256_packs_epi32(v[0], v[1]), 0xd8);
      const __m128i b = _mm_packs_epi16(_mm256_castsi256_si128(w), _mm256_extracti128_si256(w, 1));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(q + g * group_size + j), b);
    }
  }
}

TF_TILES256 void PermutePlanes(int8_t* q, int64_t bytes) {
  alignas(32) int8_t idx[32];
  for (int i = 0; i < 32; ++i) idx[i] = static_cast<int8_t>(4 * (i % 4) + (i % 16) / 4);
  const __m256i perm = _mm256_load_si256(reinterpret_cast<const __m256i*>(idx));
  for (int64_t i = 0; i < bytes; i += 32)
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + i),
                        _mm256_shuffle_epi8(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + i)), perm));
}

struct Block {
  std::vector<int32_t> codes;  // [quad][kRows]: 4 codes of one row per dword
  std::vector<float> scales, biases;  // [groups][kRows]
  std::vector<float> row_floats;      // [kRows][groups, rounded up to 8]: Repack's scratch
};

// Rows [r0, r0 + n) of a [rows][groups] table of scales or biases, as float in [groups][kRows]
// (rows past n: 0): each row converted once, then 8 × 8 blocks transposed.
TF_TILES256 void RepackGroups(const uint8_t* table, DType dt, int64_t groups, int64_t r0, int n,
                              Block& b, float* dst) {
  const int64_t padded = (groups + 7) / 8 * 8;
  float* rows = b.row_floats.data();
  const size_t esize = dtype_size(dt);
  for (int r = 0; r < kRows; ++r) {
    float* row = rows + r * padded;
    if (r < n) q8_avx2_to_float(table + static_cast<size_t>((r0 + r) * groups) * esize, dt, groups, row);
    std::fill(row + (r < n ? groups : 0), row + padded, 0.0f);
  }
  for (int64_t g = 0; g < padded; g += 8) {
    __m256i v[8];
#pragma GCC unroll 8
    for (int r = 0; r < kRows; ++r) v[r] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(rows + r * padded + g));
    transpose8_dwords(v);
    for (int j = 0; j < 8 && g + j < groups; ++j)
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + (g + j) * kRows), v[j]);
  }
}

// Rows [r0, min(r0 + kRows, r_end)) repacked (rows past r_end: codes, scales and biases 0).
// Rows interleaved at load (linear_q8_rows8.cpp) are whole blocks already in group order.
TF_TILES256 void Repack(const WeightMatrix& w, int64_t r0, int64_t r_end, Block& b) {
  const int64_t groups = w.cols / w.group_size;
  if (w.layout == WeightMatrix::Layout::Rows8) {
    const size_t at = static_cast<size_t>(r0 * groups) * dtype_size(w.dtype);
    q8_rows8_unpack_block(w, r0 / kRows, b.codes.data());
    q8_avx2_to_float(w.scales + at, w.dtype, groups * kRows, b.scales.data());
    q8_avx2_to_float(w.biases + at, w.dtype, groups * kRows, b.biases.data());
    return;
  }
  const int n = static_cast<int>(std::min<int64_t>(kRows, r_end - r0));
  q8_avx2_unpack_rows8(w.bits, w.data + r0 * w.row_bytes(), w.row_bytes(), n, w.cols, b.codes.data());
  RepackGroups(w.scales, w.dtype, groups, r0, n, b, b.scales.data());
  RepackGroups(w.biases, w.dtype, groups, r0, n, b, b.biases.data());
}

}  // namespace

namespace tiles_maddubs {
#define TF_Q8_DOT 0
#define TF_Q8_ATTR __attribute__((target("avx2,fma,f16c")))
#include "kernels/linear_q8_tiles_avx2-inl.h"
#undef TF_Q8_ATTR
#undef TF_Q8_DOT
}  // namespace tiles_maddubs

namespace tiles_avx_vnni {
#define TF_Q8_DOT 1
#define TF_Q8_ATTR __attribute__((target("avx2,fma,f16c,avxvnni")))
#include "kernels/linear_q8_tiles_avx2-inl.h"
#undef TF_Q8_ATTR
#undef TF_Q8_DOT
}  // namespace tiles_avx_vnni

namespace tiles_avx512_vnni {
#define TF_Q8_DOT 2
#define TF_Q8_ATTR __attribute__((target("avx2,fma,f16c,avx512f,avx512vl,avx512vnni")))
#include "kernels/linear_q8_tiles_avx2-inl.h"
#undef TF_Q8_ATTR
#undef TF_Q8_DOT
}  // namespace tiles_avx512_vnni

void q8_avx2_tiles_quantize(int bits, const float* x, int64_t tokens, int64_t cols, int group_size,
                            int64_t stride, int8_t* values, float* deltas) {
  const int64_t groups = cols / group_size;
  for (int64_t t = 0; t < tokens; ++t) {
    int8_t* q = values + t * stride;
    QuantizeToken(x + t * cols, cols, group_size, q, deltas + t * groups);
    std::fill(q + cols, q + stride, int8_t{0});
    q8_arrange_blocks32(bits, q, stride);
  }
}

// Planes order (linear_q8_rows8.cpp): within every 16 bytes, position 4p + b takes x[4b + p], a
// 4 × 4 byte transpose per 16 bytes — one shuffle per 32.
void q8_rows8_quantize(const float* x, int64_t tokens, int64_t cols, int group_size, int8_t* values,
                       float* deltas) {
  const int64_t stride = q8_tiles_stride(cols);
  q8_avx2_tiles_quantize(0, x, tokens, cols, group_size, stride, values, deltas);  // natural order
  PermutePlanes(values, tokens * stride);
}

void q8_avx2_tiles_rows(Q8Dot256 dot, const WeightMatrix& w, const Q8TileInput& in,
                        int64_t row_begin, int64_t row_end, float* y, int64_t y_stride) {
  const int64_t groups = w.cols / w.group_size;
  thread_local Block b[2];  // two blocks per pass where the kernel pairs them
  for (Block& one : b) {
    one.codes.resize(static_cast<size_t>(kRows * w.cols / 4));
    one.scales.resize(static_cast<size_t>(groups * kRows));
    one.biases.resize(static_cast<size_t>(groups * kRows));
    one.row_floats.resize(static_cast<size_t>(kRows * ((groups + 7) / 8 * 8)));
  }
  switch (dot) {
    case Q8Dot256::Maddubs: return tiles_maddubs::Rows(w, in, row_begin, row_end, y, y_stride, b);
    case Q8Dot256::AvxVnni: return tiles_avx_vnni::Rows(w, in, row_begin, row_end, y, y_stride, b);
    case Q8Dot256::Avx512Vnni:
      return tiles_avx512_vnni::Rows(w, in, row_begin, row_end, y, y_stride, b);
  }
}

}  // namespace tf::simd

#else  // not x86-64: never called

namespace tf::simd {
void q8_avx2_tiles_quantize(int, const float*, int64_t, int64_t, int, int64_t, int8_t*, float*) {}
void q8_rows8_quantize(const float*, int64_t, int64_t, int, int8_t*, float*) {}
void q8_avx2_tiles_rows(Q8Dot256, const WeightMatrix&, const Q8TileInput&, int64_t, int64_t, float*,
                        int64_t) {}
}  // namespace tf::simd

#endif
