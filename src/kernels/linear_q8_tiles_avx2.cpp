// Quantized weights × int8 activations for batches of tokens (prefill) on 256-bit x86 with
// AVX-VNNI (Intel Alder Lake and later, AMD Zen 5): the 256-bit counterpart of
// linear_q8_tiles.cpp (AVX-512 VNNI, 16 rows per vector), the same math
// (reference::matmul_q8),
//   y[t][n] = Σ_g s_{n,g} · d_{t,g} · Σ_{k∈g} q_{n,k} · x_q[t][k]  +  β_{n,g} · Σ_{k∈g} x[t][k].
// A vector holds 4 codes of each of 8 rows; one token's 4 matching activation bytes are
// broadcast and one VEX vpdpbusd advances 8 rows by 4 codes. The codes of a block of 8 rows
// are unpacked once per call (the row kernels' unpack, in the 32-code block order, which the
// activations are stored in too) and "transposed" into that layout; every token reuses them,
// and a group's epilogue serves 8 rows at once instead of one row's horizontal sum.
//
// Why AVX-VNNI only, not plain AVX2 (vpmaddubsw + vpmaddwd): measured on the compute core
// alone (bench/RESULTS.md, "256-bit tiles"), this layout beats the row kernel's by 1.4× with
// vpdpbusd but is 0.9× with vpmaddubsw, whose int16 pair sums already let the row kernel add
// a whole group per widening, leaving the broadcast as pure overhead.
#include "kernels/linear.h"
#include "kernels/linear_internal.h"
#include "kernels/x86_features.h"

#if defined(__x86_64__)
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <vector>

#define TF_TILES256 __attribute__((target("avx2,fma,f16c,avxvnni")))

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

// In-place transpose of an 8 × 8 matrix of dwords held in 8 vectors.
TF_TILES256 inline void Transpose8(__m256i r[8]) {
  __m256i t[8];
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm256_unpacklo_epi32(r[i], r[i + 1]);
    t[i + 1] = _mm256_unpackhi_epi32(r[i], r[i + 1]);
  }
  __m256i u[8];
  for (int i = 0; i < 8; i += 4) {
    u[i] = _mm256_unpacklo_epi64(t[i], t[i + 2]);
    u[i + 1] = _mm256_unpackhi_epi64(t[i], t[i + 2]);
    u[i + 2] = _mm256_unpacklo_epi64(t[i + 1], t[i + 3]);
    u[i + 3] = _mm256_unpackhi_epi64(t[i + 1], t[i + 3]);
  }
  for (int i = 0; i < 4; ++i) {
    r[i] = _mm256_permute2x128_si256(u[i], u[i + 4], 0x20);
    r[i + 4] = _mm256_permute2x128_si256(u[i], u[i + 4], 0x31);
  }
}

struct Block {
  std::vector<uint8_t> bytes;  // the rows' codes in block order, [kRows][cols]
  std::vector<int32_t> codes;  // [quad][kRows]: 4 codes of one row per dword
  std::vector<float> scales, biases;  // [groups][kRows]
};

// Rows [r0, min(r0 + kRows, r_end)) repacked (rows past r_end: codes, scales and biases 0).
TF_TILES256 void Repack(const WeightMatrix& w, int64_t r0, int64_t r_end, Block& b) {
  const int64_t groups = w.cols / w.group_size;
  const size_t row_bytes = w.row_bytes();
  for (int r = 0; r < kRows; ++r) {
    uint8_t* dst = b.bytes.data() + r * w.cols;
    if (r0 + r >= r_end) {
      std::memset(dst, 0, static_cast<size_t>(w.cols));
      for (int64_t g = 0; g < groups; ++g) b.scales[g * kRows + r] = b.biases[g * kRows + r] = 0.0f;
      continue;
    }
    q8_avx2_unpack_row(w.bits, w.data + (r0 + r) * row_bytes, w.cols, dst);
    for (int64_t g = 0; g < groups; ++g) {
      b.scales[g * kRows + r] = load_float(w.scales, w.dtype, (r0 + r) * groups + g);
      b.biases[g * kRows + r] = load_float(w.biases, w.dtype, (r0 + r) * groups + g);
    }
  }
  // 8 quads (32 codes) of the 8 rows per transpose: vector r = row r's 8 dwords.
  for (int64_t c = 0; c < w.cols; c += 32) {
    __m256i v[8];
    for (int r = 0; r < kRows; ++r)
      v[r] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.bytes.data() + r * w.cols + c));
    Transpose8(v);
    for (int q = 0; q < 8; ++q)
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(b.codes.data() + (c / 4 + q) * kRows), v[q]);
  }
}

// kT tokens (t0 …) against one block: y[t][r0 + r] for the n rows that exist.
template <int kT>
TF_TILES256 void BlockTokens(const Block& b, int64_t groups, int group_size, const Q8TileInput& in,
                             int64_t t0, float* y, int64_t y_stride, int n) {
  __m256 f[kT];
  for (int t = 0; t < kT; ++t) f[t] = _mm256_setzero_ps();
  const int quads = group_size / 4;
  for (int64_t g = 0; g < groups; ++g) {
    __m256i acc[kT];
    for (int t = 0; t < kT; ++t) acc[t] = _mm256_setzero_si256();
    const int32_t* c = b.codes.data() + g * quads * kRows;
    const int8_t* xg = in.values + t0 * in.stride + g * group_size;
#pragma GCC unroll 8
    for (int q = 0; q < quads; ++q) {
      const __m256i cv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(c + q * kRows));
#pragma GCC unroll 4
      for (int t = 0; t < kT; ++t) {
        int32_t x4;
        std::memcpy(&x4, xg + t * in.stride + 4 * q, 4);
        acc[t] = _mm256_dpbusd_avx_epi32(acc[t], cv, _mm256_set1_epi32(x4));
      }
    }
    const __m256 s = _mm256_loadu_ps(b.scales.data() + g * kRows);
    const __m256 bias = _mm256_loadu_ps(b.biases.data() + g * kRows);
    for (int t = 0; t < kT; ++t) {
      const int64_t ti = (t0 + t) * groups + g;
      f[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(acc[t]), _mm256_mul_ps(s, _mm256_set1_ps(in.deltas[ti])), f[t]);
      f[t] = _mm256_fmadd_ps(bias, _mm256_set1_ps(in.group_sums[ti]), f[t]);
    }
  }
  for (int t = 0; t < kT; ++t) {
    float* yt = y + (t0 + t) * y_stride;
    if (n == kRows) {
      _mm256_storeu_ps(yt, f[t]);
    } else {
      float tmp[kRows];
      _mm256_storeu_ps(tmp, f[t]);
      std::copy(tmp, tmp + n, yt);
    }
  }
}

}  // namespace

bool q8_avx_vnni_tiles_supported() {
  const X86Features& cpu = x86_features();
  return cpu.avx2 && cpu.fma && cpu.f16c && cpu.avx_vnni;
}

void q8_avx_vnni_tiles_quantize(int bits, const float* x, int64_t tokens, int64_t cols,
                                int group_size, int64_t stride, int8_t* values, float* deltas) {
  const int64_t groups = cols / group_size;
  for (int64_t t = 0; t < tokens; ++t) {
    int8_t* q = values + t * stride;
    QuantizeToken(x + t * cols, cols, group_size, q, deltas + t * groups);
    std::fill(q + cols, q + stride, int8_t{0});
    q8_arrange_blocks32(bits, q, stride);
  }
}

void q8_avx_vnni_tiles_rows(const WeightMatrix& w, const Q8TileInput& in, int64_t row_begin,
                            int64_t row_end, float* y, int64_t y_stride) {
  const int64_t groups = w.cols / w.group_size;
  thread_local Block b;
  b.bytes.resize(static_cast<size_t>(kRows * w.cols));
  b.codes.resize(static_cast<size_t>(kRows * w.cols / 4));
  b.scales.resize(static_cast<size_t>(groups * kRows));
  b.biases.resize(static_cast<size_t>(groups * kRows));
  for (int64_t r0 = row_begin; r0 < row_end; r0 += kRows) {
    const int n = static_cast<int>(std::min<int64_t>(kRows, row_end - r0));
    float* yr = y + r0;
    Repack(w, r0, row_end, b);
    int64_t t = 0;
    for (; t + 4 <= in.tokens; t += 4) BlockTokens<4>(b, groups, w.group_size, in, t, yr, y_stride, n);
    switch (in.tokens - t) {
      case 3: BlockTokens<3>(b, groups, w.group_size, in, t, yr, y_stride, n); break;
      case 2: BlockTokens<2>(b, groups, w.group_size, in, t, yr, y_stride, n); break;
      case 1: BlockTokens<1>(b, groups, w.group_size, in, t, yr, y_stride, n); break;
      default: break;
    }
  }
}

}  // namespace tf::simd

#else  // not x86-64: never called

namespace tf::simd {
bool q8_avx_vnni_tiles_supported() { return false; }
void q8_avx_vnni_tiles_quantize(int, const float*, int64_t, int64_t, int, int64_t, int8_t*, float*) {}
void q8_avx_vnni_tiles_rows(const WeightMatrix&, const Q8TileInput&, int64_t, int64_t, float*, int64_t) {}
}  // namespace tf::simd

#endif
