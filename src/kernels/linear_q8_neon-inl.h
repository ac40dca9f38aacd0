// 128-bit ARM kernels of the Int8 path, included by linear_q8_neon.cpp once per way of forming
// byte dot products (TF_Q8_DOT: 0 = smull + sadalp, every ARMv8 CPU; 1 = sdot, the dot-product
// extension of Apple M1 and later, Graviton 2+, Ampere Altra, Cortex-A55/A76 and later), inside
// a namespace of its own, with TF_Q8_ATTR the matching target attribute. See
// linear_q8_neon.cpp for the math.
//
// A row is read 32 codes (one "block", two 16-byte vectors) at a time in the block order of
// linear_q8_block_order.cpp; each group of 32/64/128 codes ends in one int32 vector per token,
// one convert and one multiply-add by s_g·d_{t,g}.

namespace {

// Codes32 reads only a block's own bytes: rows need no room after them (linear_q8_rows-inl.h).
constexpr size_t kRowSlack = 0;

struct Block32 {
  int8x16_t lo, hi;  // positions 0-15 and 16-31 of the block order
};

// Codes 32·blk .. 32·blk + 31 of a row in this bit width's block order, reading only the
// block's own 4·b bytes. kBytes: the row was unpacked already (UnpackRow), one byte per code.
template <int kBits, bool kBytes>
TF_Q8_ATTR inline Block32 Codes32(const uint8_t* row, int64_t blk) {
  if constexpr (kBytes || kBits == 8) {
    return {vreinterpretq_s8_u8(vld1q_u8(row + 32 * blk)),
            vreinterpretq_s8_u8(vld1q_u8(row + 32 * blk + 16))};
  } else if constexpr (kBits == 2) {
    // 8 bytes in both halves; halves keep planes (0, 1) and (2, 3): byte j of plane m = code 4j + m.
    const uint8x8_t r = vld1_u8(row + 8 * blk);
    const uint8x16_t rr = vcombine_u8(r, r);
    const int8x16_t s01 = vcombine_s8(vdup_n_s8(0), vdup_n_s8(-2));
    const int8x16_t s23 = vcombine_s8(vdup_n_s8(-4), vdup_n_s8(-6));
    const uint8x16_t three = vdupq_n_u8(3);
    return {vreinterpretq_s8_u8(vandq_u8(vshlq_u8(rr, s01), three)),
            vreinterpretq_s8_u8(vandq_u8(vshlq_u8(rr, s23), three))};
  } else if constexpr (kBits == 4) {
    const uint8x16_t v = vld1q_u8(row + 16 * blk);
    return {vreinterpretq_s8_u8(vandq_u8(v, vdupq_n_u8(15))), vreinterpretq_s8_u8(vshrq_n_u8(v, 4))};
  } else {
    static_assert(kBits == 3, "5- and 6-bit rows are read unpacked");
    // 12 bytes as t = bytes 0-7 | bytes 4-11 (no read past the block). 16-bit word i of each
    // half takes the two bytes holding code 2i (E) and 2i + 1 (O); per-lane shifts put code 2i
    // in the word's high byte and code 2i + 1 in its low byte, as on x86 (position p = code p^1).
    const uint8_t* p = row + 12 * blk;
    const uint8x16_t t = vcombine_u8(vld1_u8(p), vld1_u8(p + 4));
    static const uint8_t kEven[2][16] = {{0, 1, 0, 1, 1, 2, 2, 3, 3, 4, 3, 4, 4, 5, 5, 6},
                                         {10, 11, 10, 11, 11, 12, 12, 13, 13, 14, 13, 14, 14, 15, 15, 16}};
    static const uint8_t kOdd[2][16] = {{0, 1, 1, 2, 1, 2, 2, 3, 3, 4, 4, 5, 4, 5, 5, 6},
                                        {10, 11, 11, 12, 11, 12, 12, 13, 13, 14, 14, 15, 14, 15, 15, 16}};
    // Code k sits at bit s = 3k mod 8 of its word: E shifts left by 8 − s, O right by s.
    static const int16_t kEvenShift[8] = {8, 2, 4, 6, 8, 2, 4, 6};
    static const int16_t kOddShift[8] = {-3, -1, -7, -5, -3, -1, -7, -5};
    const int16x8_t es = vld1q_s16(kEvenShift), os = vld1q_s16(kOddShift);
    const uint16x8_t e_mask = vdupq_n_u16(0x0700), o_mask = vdupq_n_u16(0x0007);
    int8x16_t half[2];
    for (int h = 0; h < 2; ++h) {
      const uint16x8_t e = vreinterpretq_u16_u8(vqtbl1q_u8(t, vld1q_u8(kEven[h])));
      const uint16x8_t o = vreinterpretq_u16_u8(vqtbl1q_u8(t, vld1q_u8(kOdd[h])));
      half[h] = vreinterpretq_s8_u16(vorrq_u16(vandq_u16(vshlq_u16(e, es), e_mask),
                                                vandq_u16(vshlq_u16(o, os), o_mask)));
    }
    return {half[0], half[1]};
  }
}

// Codes of one row as bytes in the order Codes32 gives them (5- and 6-bit: natural order,
// from the LSB-first bitstream).
template <int kBits>
TF_Q8_ATTR void UnpackRow(const uint8_t* row, int64_t cols, uint8_t* codes) {
  if constexpr (kBits == 5 || kBits == 6) {
    unpack_code_bytes(row, kBits, cols, codes);
  } else {
    for (int64_t blk = 0; blk < cols / 32; ++blk) {
      const Block32 c = Codes32<kBits, false>(row, blk);
      vst1q_s8(reinterpret_cast<int8_t*>(codes) + 32 * blk, c.lo);
      vst1q_s8(reinterpret_cast<int8_t*>(codes) + 32 * blk + 16, c.hi);
    }
  }
}

// acc += Σ over quads of c · x (signed bytes; codes are < 128 here).
TF_Q8_ATTR inline int32x4_t Dot16(int32x4_t acc, int8x16_t c, int8x16_t x) {
#if TF_Q8_DOT == 1
  return vdotq_s32(acc, c, x);
#else
  acc = vpadalq_s16(acc, vmull_s8(vget_low_s8(c), vget_low_s8(x)));
  return vpadalq_s16(acc, vmull_high_s8(c, x));
#endif
}

// Σ over the kB blocks of a group of codes · activations, as 4 int32 lanes.
template <int kBits, int kB>
TF_Q8_ATTR inline int32x4_t GroupDot(const Block32* c, const int8_t* x) {
  int32x4_t acc = vdupq_n_s32(0);
  for (int b = 0; b < kB; ++b) {
    const int8x16_t x0 = vld1q_s8(x + 32 * b), x1 = vld1q_s8(x + 32 * b + 16);
    if constexpr (kBits == 8) {
      // Codes up to 255 do not fit a signed byte: nibbles, the high one weighted 16.
      const uint8x16_t mask = vdupq_n_u8(15);
      int32x4_t hi = vdupq_n_s32(0);
      const uint8x16_t u0 = vreinterpretq_u8_s8(c[b].lo), u1 = vreinterpretq_u8_s8(c[b].hi);
      acc = Dot16(acc, vreinterpretq_s8_u8(vandq_u8(u0, mask)), x0);
      acc = Dot16(acc, vreinterpretq_s8_u8(vandq_u8(u1, mask)), x1);
      hi = Dot16(hi, vreinterpretq_s8_u8(vshrq_n_u8(u0, 4)), x0);
      hi = Dot16(hi, vreinterpretq_s8_u8(vshrq_n_u8(u1, 4)), x1);
      acc = vmlaq_n_s32(acc, hi, 16);
    } else {
      acc = Dot16(Dot16(acc, c[b].lo, x0), c[b].hi, x1);
    }
  }
  return acc;
}

// Row scales (or biases) as float, times a per-group factor when `mul` is given.
TF_Q8_ATTR void ScaleRow(const uint8_t* src, DType dt, int64_t count, const float* mul, float* dst) {
  int64_t i = 0;
  for (; i + 4 <= count; i += 4) {
    float32x4_t v;
    if (dt == DType::BF16) {
      uint16_t h[4];
      std::memcpy(h, src + 2 * i, 8);
      v = vreinterpretq_f32_u32(vshll_n_u16(vld1_u16(h), 16));
    } else if (dt == DType::F16) {
      float16_t h[4];
      std::memcpy(h, src + 2 * i, 8);
      v = vcvt_f32_f16(vld1_f16(h));
    } else {
      float f[4];
      std::memcpy(f, src + 4 * i, 16);
      v = vld1q_f32(f);
    }
    if (mul) v = vmulq_f32(v, vld1q_f32(mul + i));
    vst1q_f32(dst + i, v);
  }
  for (; i < count; ++i) dst[i] = load_float(src, dt, i) * (mul ? mul[i] : 1.0f);
}

TF_Q8_ATTR inline float BiasSum(const float* b, const float* gs, int64_t count) {
  float32x4_t acc = vdupq_n_f32(0.0f);
  int64_t i = 0;
  for (; i + 4 <= count; i += 4) acc = vfmaq_f32(acc, vld1q_f32(b + i), vld1q_f32(gs + i));
  float tail = 0.0f;
  for (; i < count; ++i) tail += b[i] * gs[i];
  return vaddvq_f32(acc) + tail;
}

// One row against kTT tokens starting at t0: out[i] = y[t0 + i][row]. `row` is packed, or
// unpacked bytes when kBytes. sd[i·sd_stride + g] = s_g · d_{t0+i,g}; b[g] = β_g.
template <int kBits, bool kBytes, int kTT, int kGroup>
TF_Q8_ATTR void RowTokens(const uint8_t* row, const Q8Input& in, int64_t t0, const float* sd,
                          int64_t sd_stride, const float* b, float* out) {
  constexpr int kB = kGroup / 32;
  const int8_t* x[kTT];
  for (int i = 0; i < kTT; ++i) x[i] = in.values + (t0 + i) * in.padded_cols;
  float32x4_t f0[kTT], f1[kTT];
  for (int i = 0; i < kTT; ++i) f0[i] = f1[i] = vdupq_n_f32(0.0f);
  auto group = [&](int64_t g, float32x4_t* f) TF_Q8_ATTR {
    Block32 c[kB];
    for (int k = 0; k < kB; ++k) c[k] = Codes32<kBits, kBytes>(row, g * kB + k);
    for (int i = 0; i < kTT; ++i) {
      const int32x4_t d = GroupDot<kBits, kB>(c, x[i] + g * kGroup);
      f[i] = vfmaq_n_f32(f[i], vcvtq_f32_s32(d), sd[i * sd_stride + g]);
    }
  };
  int64_t g = 0;
  for (; g + 2 <= in.groups; g += 2) {
    group(g, f0);
    group(g + 1, f1);
  }
  if (g < in.groups) group(g, f0);
  for (int i = 0; i < kTT; ++i)
    out[i] = vaddvq_f32(vaddq_f32(f0[i], f1[i])) +
             BiasSum(b, in.group_sums + (t0 + i) * in.groups, in.groups);
}

// Tokens per tile: 32 vector registers hold two float accumulators per token of a tile of 8
// next to a group's codes (not measured on ARM hardware: chosen by register count).
#define TF_Q8_TOKEN_TILE 8
#include "kernels/linear_q8_rows-inl.h"
#undef TF_Q8_TOKEN_TILE
