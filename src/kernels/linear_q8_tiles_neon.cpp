// Quantized weights × int8 activations for batches of tokens (prefill) on 128-bit ARM: the ARM
// counterpart of linear_q8_tiles.cpp (AVX-512 VNNI), the same math (reference::matmul_q8),
//   y[t][n] = Σ_g s_{n,g} · d_{t,g} · Σ_{k∈g} q_{n,k} · x_q[t][k]  +  β_{n,g} · Σ_{k∈g} x[t][k].
// The codes of a block of 8 rows are unpacked to bytes once per call and rearranged so that
// one instruction advances several rows and tokens at once; every token of the batch then
// reuses them, and a group's float epilogue serves 4 (sdot) or 2 × 2 (smmla) outputs per vector.
// Two ways of forming the products, chosen at run time from Linux's hwcaps:
//  - sdot (FEAT_DotProd; Apple M1+, Graviton 2+, Ampere Altra, Cortex-A55/A76+): a vector holds
//    4 codes of each of 4 rows ("quad" q: bytes 4r..4r+3 = codes 4q..4q+3 of row r), and
//    sdot-by-element multiplies it with 4 activation bytes of one token broadcast to every
//    lane: 4 rows × 4 codes per instruction. Signed × signed, so 8-bit codes enter as q − 128
//    and the group's Σ x_q · 128 is added back (exact).
//  - usmmla (FEAT_I8MM; Apple M2+, Graviton 3+, Neoverse N2/V1+, Cortex-A510/A710+): a 2 × 8
//    matrix of unsigned codes (rows r, r+1; 8 codes) times a 2 × 8 matrix of signed
//    activations (tokens t, t+1; the same 8 positions) gives the 2 × 2 block of int32 sums:
//    32 products per instruction, twice sdot's, with unsigned codes (no 8-bit special case).
// Both sums are exact integers, so only the float epilogue's order differs from the reference.
// Correctness is tested under qemu (-cpu max runs both); speed is unmeasured (no ARM hardware
// here): the choice of these kernels over the row kernels for ≥ kQ8TileMinTokens tokens is by
// analogy with x86, where the tile kernel's reuse of unpacked codes wins at that size.
#include "kernels/linear.h"
#include "kernels/linear_internal.h"

#if defined(__aarch64__)
#include <arm_neon.h>
#include <sys/auxv.h>

#include <algorithm>
#include <cstring>
#include <vector>

#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1 << 20)  // Linux arm64 hwcap bit of FEAT_DotProd
#endif
#ifndef HWCAP2_I8MM
#define HWCAP2_I8MM (1 << 13)  // Linux arm64 hwcap2 bit of FEAT_I8MM
#endif

// arm_neon.h defines vdotq_laneq_s32 under armv8.2-a+dotprod and vusmmlaq_s32 under +i8mm;
// every CPU with either is v8.2 or later.
#define TF_SDOT __attribute__((target("arch=armv8.2-a+dotprod")))
#define TF_I8MM __attribute__((target("arch=armv8.2-a+dotprod+i8mm")))

namespace tf::simd {

namespace {

constexpr int kRows = 8;  // rows per repacked block

// Bit-identical to reference::quantize_activations_q8: the same float max, 127/m, the float
// product rounded half to even (frintn), clamped to ±127.
void QuantizeToken(const float* x, int64_t cols, int group_size, int8_t* q, float* d) {
  for (int64_t g = 0; g < cols / group_size; ++g) {
    const float* xg = x + g * group_size;
    float32x4_t vmax = vdupq_n_f32(0.0f);
    for (int j = 0; j < group_size; j += 4) vmax = vmaxq_f32(vmax, vabsq_f32(vld1q_f32(xg + j)));
    const float m = vmaxvq_f32(vmax);
    const float inv = m > 0.0f ? 127.0f / m : 0.0f;
    d[g] = m / 127.0f;
    const float32x4_t lo = vdupq_n_f32(-127.0f), hi = vdupq_n_f32(127.0f);
    for (int j = 0; j < group_size; j += 8) {
      int32x4_t v[2];
      for (int h = 0; h < 2; ++h) {
        const float32x4_t r = vrndnq_f32(vmulq_n_f32(vld1q_f32(xg + j + 4 * h), inv));
        v[h] = vcvtq_s32_f32(vminq_f32(vmaxq_f32(r, lo), hi));
      }
      const int16x8_t w = vcombine_s16(vmovn_s32(v[0]), vmovn_s32(v[1]));
      vst1_s8(q + g * group_size + j, vmovn_s16(w));
    }
  }
}

// A block of kRows rows, repacked for one kernel: `codes` in its layout, `scales` / `biases` as
// float in the order its epilogue reads them.
struct Block {
  std::vector<uint8_t> bytes;  // the rows' codes unpacked, [kRows][cols]
  std::vector<uint8_t> codes;
  std::vector<float> scales, biases;
};

// The first `cols` codes of a packed row as bytes, natural order (unpack_code_bytes' result),
// 8 codes = kBits bytes at a time: planes stored interleaved for 2 bits, nibbles zipped for 4.
template <int kBits>
void UnpackRow(const uint8_t* row, int64_t cols, uint8_t* codes) {
  if constexpr (kBits == 8) {
    std::memcpy(codes, row, static_cast<size_t>(cols));
  } else if constexpr (kBits == 2) {
    const uint8x8_t three = vdup_n_u8(3);
    for (int64_t k = 0; k < cols; k += 32) {
      const uint8x8_t v = vld1_u8(row + k / 4);
      const uint8x8x4_t planes = {{vand_u8(v, three), vand_u8(vshr_n_u8(v, 2), three),
                                   vand_u8(vshr_n_u8(v, 4), three), vshr_n_u8(v, 6)}};
      vst4_u8(codes + k, planes);  // code 4j + m = plane m of byte j
    }
  } else if constexpr (kBits == 4) {
    for (int64_t k = 0; k < cols; k += 32) {
      const uint8x16_t v = vld1q_u8(row + k / 2);
      const uint8x16_t lo = vandq_u8(v, vdupq_n_u8(15)), hi = vshrq_n_u8(v, 4);
      vst1q_u8(codes + k, vzip1q_u8(lo, hi));
      vst1q_u8(codes + k + 16, vzip2q_u8(lo, hi));
    }
  } else {
    constexpr uint64_t kMask = (1u << kBits) - 1u;
    for (int64_t k = 0; k < cols; k += 8) {
      uint64_t v = 0;
      std::memcpy(&v, row + k / 8 * kBits, kBits);  // little-endian: code i at bit kBits·i
      for (int i = 0; i < 8; ++i) codes[k + i] = static_cast<uint8_t>((v >> (kBits * i)) & kMask);
    }
  }
}

void UnpackRowBits(const uint8_t* row, int bits, int64_t cols, uint8_t* codes) {
  switch (bits) {
    case 2: return UnpackRow<2>(row, cols, codes);
    case 3: return UnpackRow<3>(row, cols, codes);
    case 4: return UnpackRow<4>(row, cols, codes);
    case 5: return UnpackRow<5>(row, cols, codes);
    case 6: return UnpackRow<6>(row, cols, codes);
    default: return UnpackRow<8>(row, cols, codes);
  }
}

// Rows [r0, min(r0 + kRows, r_end)) unpacked to bytes (rows past r_end: code 0) and their
// scales and biases as float, [groups][kRows] (0 past r_end).
void Unpack(const WeightMatrix& w, int64_t r0, int64_t r_end, Block& b) {
  const int64_t groups = w.cols / w.group_size;
  const size_t row_bytes = w.row_bytes();
  for (int r = 0; r < kRows; ++r) {
    uint8_t* dst = b.bytes.data() + r * w.cols;
    if (r0 + r >= r_end) {
      std::memset(dst, 0, static_cast<size_t>(w.cols));
      for (int64_t g = 0; g < groups; ++g) b.scales[g * kRows + r] = b.biases[g * kRows + r] = 0.0f;
      continue;
    }
    UnpackRowBits(w.data + (r0 + r) * row_bytes, w.bits, w.cols, dst);
    for (int64_t g = 0; g < groups; ++g) {
      b.scales[g * kRows + r] = load_float(w.scales, w.dtype, (r0 + r) * groups + g);
      b.biases[g * kRows + r] = load_float(w.biases, w.dtype, (r0 + r) * groups + g);
    }
  }
}

// ---- sdot: [quad][8 rows][4 codes], two vectors per quad ------------------------------------

void ArrangeDot(int64_t cols, int bits, Block& b) {
  const uint8_t flip = bits == 8 ? 0x80 : 0;  // 8-bit codes as signed q − 128
  for (int64_t q = 0; q < cols / 4; ++q)
    for (int r = 0; r < kRows; ++r)
      for (int j = 0; j < 4; ++j)
        b.codes[(q * kRows + r) * 4 + j] = b.bytes[r * cols + 4 * q + j] ^ flip;
}

// acc[v][t] += codes of rows 4v..4v+3 at quad (lane kLane of x) · token t's 4 bytes there.
template <int kLane, int kT>
TF_SDOT inline void DotQuad(int32x4_t (&acc)[2][4], const int8_t* c, const int8x16_t (&x)[4]) {
  const int8x16_t c0 = vld1q_s8(c), c1 = vld1q_s8(c + 16);
  for (int t = 0; t < kT; ++t) {
    acc[0][t] = vdotq_laneq_s32(acc[0][t], c0, x[t], kLane);
    acc[1][t] = vdotq_laneq_s32(acc[1][t], c1, x[t], kLane);
  }
}

// Stores the 8 rows of one token's output that exist (n of them).
inline void StoreRows(float* y, int n, float32x4_t lo, float32x4_t hi) {
  if (n == kRows) {
    vst1q_f32(y, lo);
    vst1q_f32(y + 4, hi);
    return;
  }
  float tmp[kRows];
  vst1q_f32(tmp, lo);
  vst1q_f32(tmp + 4, hi);
  std::copy(tmp, tmp + n, y);
}

// kT tokens (t0 …) against one block: y[t][r0 + r] for the n rows that exist. xsum: Σ x_q
// per [token][group], only for 8-bit codes (their − 128 offset).
template <int kT>
TF_SDOT void BlockTokensDot(const Block& b, int64_t groups, int group_size, const Q8TileInput& in,
                            const int32_t* xsum, int64_t t0, float* y, int64_t y_stride, int n) {
  float32x4_t f[2][4];
  for (int t = 0; t < kT; ++t) f[0][t] = f[1][t] = vdupq_n_f32(0.0f);
  const int8_t* codes = reinterpret_cast<const int8_t*>(b.codes.data());
  for (int64_t g = 0; g < groups; ++g) {
    int32x4_t acc[2][4];
    for (int t = 0; t < kT; ++t) acc[0][t] = acc[1][t] = vdupq_n_s32(0);
    for (int k = 0; k < group_size; k += 16) {
      const int64_t col = g * group_size + k;
      int8x16_t x[4];
      for (int t = 0; t < kT; ++t) x[t] = vld1q_s8(in.values + (t0 + t) * in.stride + col);
      const int8_t* c = codes + col * kRows;  // quad col/4, 32 bytes per quad
      DotQuad<0, kT>(acc, c, x);
      DotQuad<1, kT>(acc, c + 32, x);
      DotQuad<2, kT>(acc, c + 64, x);
      DotQuad<3, kT>(acc, c + 96, x);
    }
    const float32x4_t s0 = vld1q_f32(b.scales.data() + g * kRows), s1 = vld1q_f32(b.scales.data() + g * kRows + 4);
    const float32x4_t b0 = vld1q_f32(b.biases.data() + g * kRows), b1 = vld1q_f32(b.biases.data() + g * kRows + 4);
    for (int t = 0; t < kT; ++t) {
      const int64_t ti = (t0 + t) * groups + g;
      if (xsum != nullptr) {
        const int32x4_t off = vdupq_n_s32(128 * xsum[ti]);
        acc[0][t] = vaddq_s32(acc[0][t], off);
        acc[1][t] = vaddq_s32(acc[1][t], off);
      }
      const float d = in.deltas[ti], gs = in.group_sums[ti];
      f[0][t] = vfmaq_f32(f[0][t], vcvtq_f32_s32(acc[0][t]), vmulq_n_f32(s0, d));
      f[1][t] = vfmaq_f32(f[1][t], vcvtq_f32_s32(acc[1][t]), vmulq_n_f32(s1, d));
      f[0][t] = vfmaq_n_f32(f[0][t], b0, gs);
      f[1][t] = vfmaq_n_f32(f[1][t], b1, gs);
    }
  }
  for (int t = 0; t < kT; ++t) StoreRows(y + (t0 + t) * y_stride, n, f[0][t], f[1][t]);
}

// ---- usmmla: [8-code chunk][4 row pairs][rows 2p, 2p+1 × 8 codes] ----------------------------

void ArrangeMmla(int64_t cols, Block& b) {
  for (int64_t k = 0; k < cols / 8; ++k)
    for (int p = 0; p < kRows / 2; ++p)
      for (int h = 0; h < 2; ++h)
        std::memcpy(b.codes.data() + ((k * (kRows / 2) + p) * 2 + h) * 8,
                    b.bytes.data() + (2 * p + h) * cols + 8 * k, 8);
}

// Token pairs (t, t + 1) against one block: y[t][r0 + r] for the n rows that exist. kU pairs;
// `last` tokens exist in the final pair (1 or 2). A missing token reads zeros.
template <int kU>
TF_I8MM void BlockTokensMmla(const Block& b, int64_t groups, int group_size, const Q8TileInput& in,
                             const int8_t* zeros, const float* zero_groups, int64_t t0, int last,
                             float* y, int64_t y_stride, int n) {
  const int8_t* x[kU][2];
  const float* d[kU][2];
  const float* gs[kU][2];
  for (int u = 0; u < kU; ++u)
    for (int h = 0; h < 2; ++h) {
      const bool real = u + 1 < kU || h < last;
      const int64_t t = t0 + 2 * u + h;
      x[u][h] = real ? in.values + t * in.stride : zeros;
      d[u][h] = real ? in.deltas + t * groups : zero_groups;
      gs[u][h] = real ? in.group_sums + t * groups : zero_groups;
    }
  float32x4_t f[4][kU];  // lanes: (row 2p, token 2u), (2p, 2u+1), (2p+1, 2u), (2p+1, 2u+1)
  for (int p = 0; p < 4; ++p)
    for (int u = 0; u < kU; ++u) f[p][u] = vdupq_n_f32(0.0f);
  for (int64_t g = 0; g < groups; ++g) {
    int32x4_t acc[4][kU];
    for (int p = 0; p < 4; ++p)
      for (int u = 0; u < kU; ++u) acc[p][u] = vdupq_n_s32(0);
    for (int k = 0; k < group_size; k += 16) {
      const int64_t col = g * group_size + k;
      int8x16_t xa[kU], xb[kU];  // chunks col/8 and col/8 + 1 of both tokens of each pair
      for (int u = 0; u < kU; ++u) {
        const int64x2_t a = vreinterpretq_s64_s8(vld1q_s8(x[u][0] + col));
        const int64x2_t c = vreinterpretq_s64_s8(vld1q_s8(x[u][1] + col));
        xa[u] = vreinterpretq_s8_s64(vzip1q_s64(a, c));
        xb[u] = vreinterpretq_s8_s64(vzip2q_s64(a, c));
      }
      const uint8_t* c = b.codes.data() + col * kRows;  // chunk col/8, 64 bytes per chunk
      for (int p = 0; p < 4; ++p) {
        const uint8x16_t ca = vld1q_u8(c + 16 * p), cb = vld1q_u8(c + 64 + 16 * p);
        for (int u = 0; u < kU; ++u) {
          acc[p][u] = vusmmlaq_s32(acc[p][u], ca, xa[u]);
          acc[p][u] = vusmmlaq_s32(acc[p][u], cb, xb[u]);
        }
      }
    }
    const float* sc = b.scales.data() + g * kRows;
    const float* bi = b.biases.data() + g * kRows;
    for (int u = 0; u < kU; ++u) {
      const float32x2_t du = {d[u][0][g], d[u][1][g]}, gu = {gs[u][0][g], gs[u][1][g]};
      const float32x4_t dd = vcombine_f32(du, du), gg = vcombine_f32(gu, gu);
      for (int p = 0; p < 4; ++p) {
        const float32x2_t s2 = vld1_f32(sc + 2 * p), b2 = vld1_f32(bi + 2 * p);
        // (s_2p, s_2p, s_2p+1, s_2p+1), likewise the biases
        const float32x4_t ss = vzip1q_f32(vcombine_f32(s2, s2), vcombine_f32(s2, s2));
        const float32x4_t bb = vzip1q_f32(vcombine_f32(b2, b2), vcombine_f32(b2, b2));
        f[p][u] = vfmaq_f32(f[p][u], vcvtq_f32_s32(acc[p][u]), vmulq_f32(ss, dd));
        f[p][u] = vfmaq_f32(f[p][u], bb, gg);
      }
    }
  }
  for (int u = 0; u < kU; ++u) {
    const int tokens = u + 1 < kU ? 2 : last;
    for (int p = 0; p < 4; ++p) {
      float v[4];
      vst1q_f32(v, f[p][u]);
      for (int h = 0; h < tokens; ++h) {
        float* yt = y + (t0 + 2 * u + h) * y_stride;
        if (2 * p < n) yt[2 * p] = v[h];
        if (2 * p + 1 < n) yt[2 * p + 1] = v[2 + h];
      }
    }
  }
}

void Rows(Q8Tile128 kind, const WeightMatrix& w, const Q8TileInput& in, int64_t row_begin,
          int64_t row_end, float* y, int64_t y_stride) {
  const int64_t groups = w.cols / w.group_size;
  thread_local Block b;
  b.bytes.resize(static_cast<size_t>(kRows * w.cols));
  b.codes.resize(static_cast<size_t>(kRows * w.cols));
  b.scales.resize(static_cast<size_t>(groups * kRows));
  b.biases.resize(static_cast<size_t>(groups * kRows));
  // sdot with 8-bit codes: Σ x_q per token and group, for the − 128 offset.
  thread_local std::vector<int32_t> xsum;
  const bool offset = kind == Q8Tile128::DotProd && w.bits == 8;
  if (offset) {
    xsum.assign(static_cast<size_t>(in.tokens * groups), 0);
    for (int64_t t = 0; t < in.tokens; ++t)
      for (int64_t k = 0; k < w.cols; ++k)
        xsum[t * groups + k / w.group_size] += in.values[t * in.stride + k];
  }
  // usmmla's odd last token pairs with a zero row.
  thread_local std::vector<int8_t> zeros;
  thread_local std::vector<float> zero_groups;
  if (kind == Q8Tile128::I8mm) {
    zeros.assign(static_cast<size_t>(w.cols), 0);
    zero_groups.assign(static_cast<size_t>(groups), 0.0f);
  }
  for (int64_t r0 = row_begin; r0 < row_end; r0 += kRows) {
    const int n = static_cast<int>(std::min<int64_t>(kRows, row_end - r0));
    float* yr = y + r0;
    Unpack(w, r0, row_end, b);
    if (kind == Q8Tile128::DotProd) {
      ArrangeDot(w.cols, w.bits, b);
      const int32_t* xs = offset ? xsum.data() : nullptr;
      int64_t t = 0;
      for (; t + 4 <= in.tokens; t += 4) BlockTokensDot<4>(b, groups, w.group_size, in, xs, t, yr, y_stride, n);
      switch (in.tokens - t) {
        case 3: BlockTokensDot<3>(b, groups, w.group_size, in, xs, t, yr, y_stride, n); break;
        case 2: BlockTokensDot<2>(b, groups, w.group_size, in, xs, t, yr, y_stride, n); break;
        case 1: BlockTokensDot<1>(b, groups, w.group_size, in, xs, t, yr, y_stride, n); break;
        default: break;
      }
    } else {
      ArrangeMmla(w.cols, b);
      int64_t t = 0;
      for (; t + 4 <= in.tokens; t += 4)
        BlockTokensMmla<2>(b, groups, w.group_size, in, zeros.data(), zero_groups.data(), t, 2, yr, y_stride, n);
      const int64_t left = in.tokens - t;
      if (left == 3)
        BlockTokensMmla<2>(b, groups, w.group_size, in, zeros.data(), zero_groups.data(), t, 1, yr, y_stride, n);
      else if (left > 0)
        BlockTokensMmla<1>(b, groups, w.group_size, in, zeros.data(), zero_groups.data(), t,
                           static_cast<int>(left), yr, y_stride, n);
    }
  }
}

}  // namespace

bool q8_tile128_supported(Q8Tile128 kind) {
  if (kind == Q8Tile128::DotProd) return (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0;
  return (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0 && (getauxval(AT_HWCAP2) & HWCAP2_I8MM) != 0;
}

void q8_neon_tiles_quantize(const float* x, int64_t tokens, int64_t cols, int group_size,
                            int64_t stride, int8_t* values, float* deltas) {
  const int64_t groups = cols / group_size;
  for (int64_t t = 0; t < tokens; ++t) {
    int8_t* q = values + t * stride;
    QuantizeToken(x + t * cols, cols, group_size, q, deltas + t * groups);
    std::fill(q + cols, q + stride, int8_t{0});
  }
}

void q8_neon_tiles_rows(Q8Tile128 kind, const WeightMatrix& w, const Q8TileInput& in,
                        int64_t row_begin, int64_t row_end, float* y, int64_t y_stride) {
  Rows(kind, w, in, row_begin, row_end, y, y_stride);
}

}  // namespace tf::simd

#else  // not ARM64: never called

namespace tf::simd {
bool q8_tile128_supported(Q8Tile128) { return false; }
void q8_neon_tiles_quantize(const float*, int64_t, int64_t, int, int64_t, int8_t*, float*) {}
void q8_neon_tiles_rows(Q8Tile128, const WeightMatrix&, const Q8TileInput&, int64_t, int64_t,
                        float*, int64_t) {}
}  // namespace tf::simd

#endif
