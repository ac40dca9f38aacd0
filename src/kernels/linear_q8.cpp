// Quantized weights × int8 activations (ActivationPrecision::Int8):
//   y_n = Σ_g s_{n,g} · d_g · Σ_{k∈g} q_{n,k} · x_q[k]  +  β_{n,g} · Σ_{k∈g} x[k]
// The integer sums are exact, so every target gives the same dots; only the float epilogue
// rounds differently. Two implementations:
//  - AVX-512 VNNI + VBMI (Highway's AVX3_DL target): 64 codes at a time become bytes in natural
//    order with one masked load, vpermb (each qword gets the b bytes holding 8 codes) and
//    vpmultishiftqb (each byte picks its code's bit offset), then vpdpbusd multiplies the
//    unsigned codes by the signed activations and sums 4 neighbours into each int32 lane.
//    Masked loads never touch bytes past the row, so unpadded MLX tensors are safe.
//  - every other target: codes unpacked per row into bytes, integer dots the compiler
//    vectorises for that target. Correct everywhere; slower than the F32 path on those CPUs.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "kernels/linear.h"
#include "kernels/linear_internal.h"

#ifndef HWY_DISABLED_TARGETS
#define HWY_DISABLED_TARGETS (HWY_SSSE3 | HWY_SVE | HWY_SVE2 | HWY_SVE_256 | HWY_SVE2_128)
#endif
#define HWY_WANT_AVX3_DL  // Highway 1.0.3 compiles AVX3_DL (Ice Lake and later) only on request

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/linear_q8.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace tf::simd {
namespace HWY_NAMESPACE {

// ---- every target ------------------------------------------------------------------------
namespace hn = hwy::HWY_NAMESPACE;

// Bit-identical to reference::quantize_activations_q8: the same float max, 127/m, x·(127/m),
// and round-half-even — here as (v + 1.5·2^23) − 1.5·2^23, exact for |v| < 2^22.
bool HaveVnni();
// Tokens the VNNI kernels take together: 8, then 4, 2, 1 for the rest.
constexpr int kTokenTile = 8;
inline int VnniTile(int64_t left) { return left >= 8 ? 8 : left >= 4 ? 4 : left >= 2 ? 2 : 1; }

void Q8QuantizeInput(int bits, int group_size, const float* x, int64_t tokens, int64_t cols,
                     int64_t padded_cols, int8_t* values, float* deltas) {
  const hn::ScalableTag<float> df;
  const hn::RebindToSigned<decltype(df)> di;
  const hn::Rebind<int8_t, decltype(di)> d8;
  const int64_t n = static_cast<int64_t>(hn::Lanes(df));
  const int64_t groups = cols / group_size;
  const auto magic = hn::Set(df, 12582912.0f);
  std::vector<int8_t> row(static_cast<size_t>(padded_cols) + 256);
  for (int64_t t = 0; t < tokens; ++t) {
    const float* xt = x + t * cols;
    int8_t* v = row.data();
    for (int64_t g = 0; g < groups; ++g) {
      const float* xg = xt + g * group_size;
      auto vmax = hn::Zero(df);
      for (int64_t j = 0; j < group_size; j += n) vmax = hn::Max(vmax, hn::Abs(hn::LoadU(df, xg + j)));
      const float m = hn::GetLane(hn::MaxOfLanes(df, vmax));
      const float inv = m > 0.0f ? 127.0f / m : 0.0f;
      deltas[t * groups + g] = m / 127.0f;
      const auto vinv = hn::Set(df, inv);
      for (int64_t j = 0; j < group_size; j += n) {
        const auto r = hn::Sub(hn::Add(hn::Mul(hn::LoadU(df, xg + j), vinv), magic), magic);
        const auto q = hn::Min(hn::Max(hn::ConvertTo(di, r), hn::Set(di, -127)), hn::Set(di, 127));
        hn::StoreU(hn::DemoteTo(d8, q), d8, v + g * group_size + j);
      }
    }
    std::fill(v + cols, v + padded_cols, int8_t{0});
    if (!HaveVnni()) {  // the portable kernels read each token's row as is
      std::copy(v, v + padded_cols, values + t * padded_cols);
      continue;
    }
    if (bits == 2 || bits == 4) {
      // Reorder each chunk of 64·P codes (P = 8 / bits codes per byte) plane by plane: position
      // m·64 + j holds code P·j + m, the code that plane m of byte j of the weights holds.
      const int planes = 8 / bits, chunk = 64 * planes;
      int8_t tmp[256];
      for (int64_t c0 = 0; c0 < padded_cols; c0 += chunk) {
        std::copy(v + c0, v + c0 + chunk, tmp);
        for (int m = 0; m < planes; ++m)
          for (int j = 0; j < 64; ++j) v[c0 + m * 64 + j] = tmp[planes * j + m];
      }
    }
    // Interleave the tokens of each tile the kernels process together: 64-byte vector s of
    // token t0 + i goes to (s·tt + i)·64 within the tile, one base pointer for all of them.
    int64_t t0 = 0;
    while (t0 + VnniTile(tokens - t0) <= t) t0 += VnniTile(tokens - t0);
    const int tt = VnniTile(tokens - t0);
    const int64_t i = t - t0;
    int8_t* tile = values + t0 * padded_cols;
    for (int64_t s = 0; s < padded_cols / 64; ++s)
      std::copy(v + 64 * s, v + 64 * s + 64, tile + (s * tt + i) * 64);
  }
}

HWY_INLINE void UnpackRow(const uint8_t* row, int bits, int64_t cols, uint8_t* codes) {
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

void RowsPortable(const WeightMatrix& w, const Q8Input& in, int64_t row_begin, int64_t row_end,
                  float* y, int64_t y_stride) {
  const int64_t groups = in.groups;
  const int g = w.group_size;
  std::vector<uint8_t> codes(static_cast<size_t>(w.cols));
  std::vector<float> s(groups), b(groups);
  for (int64_t r = row_begin; r < row_end; ++r) {
    UnpackRow(w.data + static_cast<size_t>(r) * w.row_bytes(), w.bits, w.cols, codes.data());
    for (int64_t gi = 0; gi < groups; ++gi) {
      s[gi] = load_float(w.scales, w.dtype, r * groups + gi);
      b[gi] = load_float(w.biases, w.dtype, r * groups + gi);
    }
    for (int64_t t = 0; t < in.tokens; ++t) {
      const int8_t* xq = in.values + t * in.padded_cols;
      const float* d = in.deltas + t * groups;
      const float* gs = in.group_sums + t * groups;
      float acc = 0.0f;
      for (int64_t gi = 0; gi < groups; ++gi) {
        int32_t dot = 0;
        for (int j = 0; j < g; ++j) dot += codes[gi * g + j] * xq[gi * g + j];
        acc += s[gi] * d[gi] * static_cast<float>(dot) + b[gi] * gs[gi];
      }
      y[t * y_stride + r] = acc;
    }
  }
}

#if HWY_TARGET == HWY_AVX3_DL
// ---- AVX-512 VNNI + VBMI -----------------------------------------------------------------
#define TF_VNNI __attribute__((target("avx512vnni,avx512vbmi")))

// Row scales (or biases) as float, times a per-group factor when `mul` is given.
TF_VNNI HWY_INLINE void ScaleRow(const uint8_t* src, DType dt, int64_t count, const float* mul,
                                 float* dst) {
  for (int64_t i = 0; i < count; i += 16) {
    const int64_t left = std::min<int64_t>(16, count - i);
    const __mmask16 m = static_cast<__mmask16>((1u << left) - 1u);
    __m512 v;
    if (dt == DType::BF16) {
      const __m256i h = _mm256_maskz_loadu_epi16(m, src + 2 * i);
      v = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
    } else if (dt == DType::F16) {
      v = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, src + 2 * i));
    } else {
      v = _mm512_maskz_loadu_ps(m, src + 4 * i);
    }
    if (mul) v = _mm512_mul_ps(v, _mm512_maskz_loadu_ps(m, mul + i));
    _mm512_mask_storeu_ps(dst + i, m, v);
  }
}

// Σ_g β_g · Σx_g as 16 partial sums (added to the row's accumulators before the one reduction).
TF_VNNI HWY_INLINE __m512 BiasLanes(const float* b, const float* gs, int64_t count) {
  __m512 acc = _mm512_setzero_ps();
  for (int64_t i = 0; i < count; i += 16) {
    const __mmask16 m = static_cast<__mmask16>((1u << std::min<int64_t>(16, count - i)) - 1u);
    acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, b + i), _mm512_maskz_loadu_ps(m, gs + i), acc);
  }
  return acc;
}

// Codes 64·blk .. 64·blk + 63 of a row as bytes: `m` masks the load to the block's 8·b bytes
// (fewer for a final half block), so nothing past the row is touched.
template <int kBits>
TF_VNNI HWY_INLINE __m512i Codes64(const uint8_t* row, int64_t blk, __mmask64 m, __m512i spread,
                                   __m512i shifts, __m512i mask) {
  const __m512i raw = _mm512_maskz_loadu_epi8(m, row + blk * 8 * kBits);
  if constexpr (kBits == 8) return raw;
  const __m512i q = _mm512_multishift_epi64_epi8(shifts, _mm512_permutexvar_epi8(spread, raw));
  return _mm512_and_si512(q, mask);
}

// One row against kTT tokens. sd[t·sd_stride + g] = s_g · d_{t,g}. The row is walked in
// "units": a group of 64 or 128 codes (one int32 sum per lane, then one scale), or for g = 32 a
// 64-code block holding groups 2u (lanes 0-7) and 2u + 1 (lanes 8-15).
template <int kBits, int kTT, int kGroup>
TF_VNNI HWY_INLINE void RowTokensVnni(const uint8_t* row, const Q8Input& in, int64_t t0,
                                      const __m512i spread, const __m512i shifts, const float* sd,
                                      int64_t sd_stride, const float* b, float* out) {
  const __m512i mask = _mm512_set1_epi8(static_cast<char>((1u << kBits) - 1u));
  const __mmask64 full = kBits == 8 ? ~__mmask64{0} : (__mmask64{1} << (8 * kBits)) - 1;
  const __mmask64 half = (__mmask64{1} << (4 * kBits)) - 1;  // a final block of 32 codes
  const int64_t full_blocks = in.cols / 64;
  const int8_t* x0 = in.values + t0 * in.padded_cols;
  constexpr bool pairs = kGroup == 32;
  constexpr int64_t per_unit = pairs ? 1 : kGroup / 64;  // blocks per unit
  const int64_t units = pairs ? (in.cols + 63) / 64 : in.groups;

  // Adds unit u's contribution for every token to acc[0..kTT).
  auto unit = [&](int64_t u, __m512* acc) HWY_ATTR TF_VNNI {
    __m512i dot[kTT];
    #pragma GCC unroll 8
    for (int i = 0; i < kTT; ++i) dot[i] = _mm512_setzero_si512();
    for (int64_t blk = u * per_unit; blk < (u + 1) * per_unit; ++blk) {
      const __m512i c = Codes64<kBits>(row, blk, (!pairs || blk < full_blocks) ? full : half,
                                       spread, shifts, mask);
      #pragma GCC unroll 8
      for (int i = 0; i < kTT; ++i)
        dot[i] = _mm512_dpbusd_epi32(dot[i], c,
                                     _mm512_loadu_si512(x0 + (blk * kTT + i) * 64));
    }
    #pragma GCC unroll 8
    for (int i = 0; i < kTT; ++i) {
      const float* f = sd + i * sd_stride;
      const __m512 sv = pairs ? _mm512_mask_blend_ps(0xff00, _mm512_set1_ps(f[2 * u]),
                                                     _mm512_set1_ps(f[2 * u + 1]))
                              : _mm512_set1_ps(f[u]);
      acc[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot[i]), sv, acc[i]);
    }
  };

  __m512 a0[kTT], a1[kTT];
  #pragma GCC unroll 8
  for (int i = 0; i < kTT; ++i) a0[i] = a1[i] = _mm512_setzero_ps();
  int64_t u = 0;
  if constexpr (kTT <= 2) {
    // Few tokens: four independent chains, or the convert → FMA latency serialises the units.
    __m512 a2[kTT], a3[kTT];
    #pragma GCC unroll 8
    for (int i = 0; i < kTT; ++i) a2[i] = a3[i] = _mm512_setzero_ps();
    for (; u + 4 <= units; u += 4) {
      unit(u, a0);
      unit(u + 1, a1);
      unit(u + 2, a2);
      unit(u + 3, a3);
    }
    #pragma GCC unroll 8
    for (int i = 0; i < kTT; ++i) a0[i] = _mm512_add_ps(a0[i], a2[i]), a1[i] = _mm512_add_ps(a1[i], a3[i]);
  }
  if constexpr (kTT <= 2)
    for (; u + 2 <= units; u += 2) {
      unit(u, a0);
      unit(u + 1, a1);
    }
  for (; u < units; ++u) unit(u, a0);
  #pragma GCC unroll 8
  for (int i = 0; i < kTT; ++i) {
    const __m512 bias = BiasLanes(b, in.group_sums + (t0 + i) * in.groups, in.groups);
    out[i] = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0[i], a1[i]), bias));
  }
}

constexpr size_t kRowTileBytes = 128 * 1024;
constexpr int64_t kStackGroups = 512;  // rows of up to 16K columns at g = 32 need no heap

// 2- and 4-bit rows: one 64-byte load holds 256 or 128 codes; plane m = (bytes >> b·m) & mask
// puts code P·j + m in byte j (P = 8 / b), and the activations were stored in that order
// (Q8QuantizeInput), so no byte permutes are needed. Each int32 lane then covers 4P consecutive
// codes of one group; lanes map to groups through a permute of the chunk's scales.
template <int kBits, int kTT, int kGroup>
TF_VNNI HWY_INLINE void RowTokensPlanes(const uint8_t* row, const Q8Input& in, int64_t t0,
                                        const float* sd, int64_t sd_stride, const float* b,
                                        float* out) {
  constexpr int kPlanes = 8 / kBits, kChunk = 64 * kPlanes;
  constexpr int kLaneCodes = 4 * kPlanes;
  const __m512i lane_group = _mm512_set_epi32(
      15 * kLaneCodes / kGroup, 14 * kLaneCodes / kGroup, 13 * kLaneCodes / kGroup,
      12 * kLaneCodes / kGroup, 11 * kLaneCodes / kGroup, 10 * kLaneCodes / kGroup,
      9 * kLaneCodes / kGroup, 8 * kLaneCodes / kGroup, 7 * kLaneCodes / kGroup,
      6 * kLaneCodes / kGroup, 5 * kLaneCodes / kGroup, 4 * kLaneCodes / kGroup,
      3 * kLaneCodes / kGroup, 2 * kLaneCodes / kGroup, kLaneCodes / kGroup, 0);
  const __m512i mask = _mm512_set1_epi8(static_cast<char>((1u << kBits) - 1u));
  const int64_t row_bytes = in.cols * kBits / 8;
  const int64_t chunks = (in.cols + kChunk - 1) / kChunk;
  const int8_t* x0 = in.values + t0 * in.padded_cols;

  auto chunk = [&](int64_t c, __m512* acc) HWY_ATTR TF_VNNI {
    const int64_t left = row_bytes - 64 * c;
    const __mmask64 m = left >= 64 ? ~__mmask64{0} : (__mmask64{1} << left) - 1;
    const __m512i raw = _mm512_maskz_loadu_epi8(m, row + 64 * c);
    __m512i dot[kTT];
    #pragma GCC unroll 8
    for (int i = 0; i < kTT; ++i) dot[i] = _mm512_setzero_si512();
#pragma GCC unroll 8
    for (int p = 0; p < kPlanes; ++p) {
      const __m512i codes = _mm512_and_si512(_mm512_srli_epi16(raw, kBits * p), mask);
      #pragma GCC unroll 8
      for (int i = 0; i < kTT; ++i)
        dot[i] = _mm512_dpbusd_epi32(
            dot[i], codes, _mm512_loadu_si512(x0 + ((c * kPlanes + p) * kTT + i) * 64));
    }
    const int64_t g0 = c * kChunk / kGroup;
    #pragma GCC unroll 8
    for (int i = 0; i < kTT; ++i) {
      const float* f = sd + i * sd_stride + g0;
      const __m512 sv = kChunk <= kGroup
                            ? _mm512_set1_ps(f[0])
                            : _mm512_permutexvar_ps(lane_group, _mm512_loadu_ps(f));
      acc[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot[i]), sv, acc[i]);
    }
  };

  // Two chains per token while registers allow (the convert → FMA latency), one for big tiles.
  constexpr int kChains = kTT <= 2 ? 2 : 1;
  __m512 a0[kTT], a1[kTT];
  #pragma GCC unroll 8
  for (int i = 0; i < kTT; ++i) a0[i] = a1[i] = _mm512_setzero_ps();
  int64_t c = 0;
  if constexpr (kChains == 2)
    for (; c + 2 <= chunks; c += 2) {
      chunk(c, a0);
      chunk(c + 1, a1);
    }
  for (; c < chunks; ++c) chunk(c, a0);
  #pragma GCC unroll 8
  for (int i = 0; i < kTT; ++i) {
    const __m512 bias = BiasLanes(b, in.group_sums + (t0 + i) * in.groups, in.groups);
    out[i] = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0[i], a1[i]), bias));
  }
}

template <int kBits, int kGroup>
TF_VNNI HWY_INLINE void RowTile(int tt, const uint8_t* row, const Q8Input& in, int64_t t0,
                                __m512i spread, __m512i shifts, const float* sd, int64_t stride,
                                const float* b, float* dots) {
  if constexpr (kBits == 2 || kBits == 4) {
    switch (tt) {
      case 8: return RowTokensPlanes<kBits, 8, kGroup>(row, in, t0, sd, stride, b, dots);
      case 4: return RowTokensPlanes<kBits, 4, kGroup>(row, in, t0, sd, stride, b, dots);
      case 2: return RowTokensPlanes<kBits, 2, kGroup>(row, in, t0, sd, stride, b, dots);
      default: return RowTokensPlanes<kBits, 1, kGroup>(row, in, t0, sd, stride, b, dots);
    }
  }
  switch (tt) {
    case 8: return RowTokensVnni<kBits, 8, kGroup>(row, in, t0, spread, shifts, sd, stride, b, dots);
    case 4: return RowTokensVnni<kBits, 4, kGroup>(row, in, t0, spread, shifts, sd, stride, b, dots);
    case 2: return RowTokensVnni<kBits, 2, kGroup>(row, in, t0, spread, shifts, sd, stride, b, dots);
    default: return RowTokensVnni<kBits, 1, kGroup>(row, in, t0, spread, shifts, sd, stride, b, dots);
  }
}

template <int kBits>
TF_VNNI void RowsVnniT(const WeightMatrix& w, const Q8Input& in, int64_t row_begin,
                       int64_t row_end, float* y, int64_t y_stride) {
  alignas(64) uint8_t sp[64], sh[64];
  for (int j = 0; j < 8; ++j)
    for (int t = 0; t < 8; ++t) {
      sp[8 * j + t] = static_cast<uint8_t>(kBits * j + t);  // qword j ← bytes of codes 8j..8j+7
      sh[8 * j + t] = static_cast<uint8_t>(kBits * t);      // byte t ← bits [b·t, b·t + 8)
    }
  const __m512i spread = _mm512_load_si512(sp), shifts = _mm512_load_si512(sh);
  const int64_t groups = in.groups;
  const int64_t stride = groups + 16;  // room for the g = 32 path's pair loads
  alignas(64) float stack[(kTokenTile + 1) * (kStackGroups + 16)];
  std::vector<float> heap;
  float* sd = stack;
  if (groups > kStackGroups) {
    heap.resize(static_cast<size_t>((kTokenTile + 1) * stride));
    sd = heap.data();
  }
  std::fill(sd, sd + (kTokenTile + 1) * stride, 0.0f);
  float* b = sd + kTokenTile * stride;
  const size_t row_bytes = w.row_bytes();
  const size_t srow = static_cast<size_t>(groups) * dtype_size(w.dtype);
  const int64_t tile_rows = std::max<int64_t>(1, static_cast<int64_t>(kRowTileBytes / row_bytes));
  for (int64_t r0 = row_begin; r0 < row_end; r0 += tile_rows) {
    const int64_t r1 = std::min(row_end, r0 + tile_rows);
    for (int64_t t0 = 0; t0 < in.tokens;) {
      const int64_t left = in.tokens - t0;
      const int tt = VnniTile(left);
      for (int64_t r = r0; r < r1; ++r) {
        const uint8_t* row = w.data + static_cast<size_t>(r) * row_bytes;
        for (int i = 0; i < tt; ++i)
          ScaleRow(w.scales + r * srow, w.dtype, groups, in.deltas + (t0 + i) * groups,
                   sd + i * stride);
        ScaleRow(w.biases + r * srow, w.dtype, groups, nullptr, b);
        float dots[kTokenTile];
        switch (w.group_size) {
          case 32: RowTile<kBits, 32>(tt, row, in, t0, spread, shifts, sd, stride, b, dots); break;
          case 64: RowTile<kBits, 64>(tt, row, in, t0, spread, shifts, sd, stride, b, dots); break;
          default: RowTile<kBits, 128>(tt, row, in, t0, spread, shifts, sd, stride, b, dots); break;
        }
        for (int i = 0; i < tt; ++i) y[(t0 + i) * y_stride + r] = dots[i];
      }
      t0 += tt;
    }
  }
}

void RowsVnni(const WeightMatrix& w, const Q8Input& in, int64_t row_begin, int64_t row_end,
              float* y, int64_t y_stride) {
  switch (w.bits) {
    case 2: return RowsVnniT<2>(w, in, row_begin, row_end, y, y_stride);
    case 3: return RowsVnniT<3>(w, in, row_begin, row_end, y, y_stride);
    case 4: return RowsVnniT<4>(w, in, row_begin, row_end, y, y_stride);
    case 5: return RowsVnniT<5>(w, in, row_begin, row_end, y, y_stride);
    case 6: return RowsVnniT<6>(w, in, row_begin, row_end, y, y_stride);
    default: return RowsVnniT<8>(w, in, row_begin, row_end, y, y_stride);
  }
}
#undef TF_VNNI
#endif  // HWY_TARGET == HWY_AVX3_DL

// Whether this target runs the VNNI kernels (Highway's AVX3_DL group implies VNNI and VBMI on
// every CPU we know; check anyway).
bool HaveVnni() {
#if HWY_TARGET == HWY_AVX3_DL
  static const bool have =
      __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512vbmi");
  return have;
#else
  return false;
#endif
}


void Q8AffineRows(const WeightMatrix& w, const Q8Input& in, int64_t row_begin, int64_t row_end,
                  float* y, int64_t y_stride) {
#if HWY_TARGET == HWY_AVX3_DL
  if (HaveVnni()) return RowsVnni(w, in, row_begin, row_end, y, y_stride);
#endif
  RowsPortable(w, in, row_begin, row_end, y, y_stride);
}

}  // namespace HWY_NAMESPACE
}  // namespace tf::simd
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace tf::simd {

HWY_EXPORT(Q8AffineRows);
HWY_EXPORT(HaveVnni);

bool q8_fast() { return HWY_DYNAMIC_DISPATCH(HaveVnni)(); }
HWY_EXPORT(Q8QuantizeInput);

// Whole 256-code chunks: the widest layout any target reads (2-bit planes).
int64_t q8_padded_cols(int /*bits*/, int64_t cols) { return (cols + 255) / 256 * 256; }

void q8_quantize_input(int bits, int group_size, const float* x, int64_t tokens, int64_t cols,
                       int64_t padded_cols, int8_t* values, float* deltas) {
  HWY_DYNAMIC_DISPATCH(Q8QuantizeInput)(bits, group_size, x, tokens, cols, padded_cols, values, deltas);
}

void q8_affine_rows(const WeightMatrix& w, const Q8Input& in, int64_t row_begin, int64_t row_end,
                    float* y, int64_t y_stride) {
  HWY_DYNAMIC_DISPATCH(Q8AffineRows)(w, in, row_begin, row_end, y, y_stride);
}

}  // namespace tf::simd
#endif  // HWY_ONCE
