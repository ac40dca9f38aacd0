// 256-bit x86 kernels of the Int8 path, included by linear_q8_avx2.cpp once per way of forming
// byte dot products (TF_Q8_DOT: 0 = vpmaddubsw + vpmaddwd, AVX2; 1 = VEX vpdpbusd, AVX-VNNI;
// 2 = EVEX vpdpbusd on ymm, AVX-512 VNNI + VL), inside a namespace of its own, with TF_Q8_ATTR
// the matching target attribute. See linear_q8_avx2.cpp for the math and the layouts.
//
// A row is read 32 codes (one "block") at a time; Codes32 turns a block into 32 bytes in the
// order the activations were arranged in (linear_q8_block_order.cpp), and each group of 32/64/128 codes
// ends in one int32 vector per token, one convert and one multiply-add by s_g·d_{t,g}.

namespace {

// Bytes the unpack may read past a row's last block (3-bit: 16 for a block of 12). Rows of an
// mmapped file end anywhere, so the schedule (linear_q8_rows-inl.h) copies a matrix's last row
// into a buffer with this much room after it.
constexpr size_t kRowSlack = 4;

// Codes 32·blk .. 32·blk + 31 of a row as 32 bytes in this bit width's block order. Reads the
// block's own 4·b bytes and, 3-bit, up to kRowSlack after them. kBytes: the row was unpacked
// already (UnpackRow), one byte per code.
template <int kBits, bool kBytes>
TF_Q8_ATTR inline __attribute__((always_inline)) __m256i Codes32(const uint8_t* row, int64_t blk) {
  if constexpr (kBytes) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + 32 * blk));
  } else if constexpr (kBits == 2) {
    // One qword of 32 codes in every qword; qword m keeps plane m: byte j = code 4j + m.
    int64_t raw;
    std::memcpy(&raw, row + 8 * blk, 8);
    const __m256i v = _mm256_srlv_epi32(_mm256_set1_epi64x(raw), _mm256_setr_epi32(0, 0, 2, 2, 4, 4, 6, 6));
    return _mm256_and_si256(v, _mm256_set1_epi8(3));
  } else if constexpr (kBits == 4) {
    // 16 bytes in both halves; the low half keeps the low nibbles (code 2j), the high half
    // the high nibbles (code 2j + 1).
    const __m256i v = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row + 16 * blk)));
    return _mm256_and_si256(_mm256_srlv_epi32(v, _mm256_setr_epi32(0, 0, 0, 0, 4, 4, 4, 4)),
                            _mm256_set1_epi8(15));
  } else if constexpr (kBits == 3) {
    // 12 bytes (16 loaded: the caller leaves kRowSlack readable bytes after every row) in both
    // halves; the low half unpacks codes 0-15 (bytes 0-5), the high half codes 16-31 (bytes
    // 6-11). 16-bit word i takes the two bytes holding codes 2i and 2i + 1 (bits 6i … 6i + 5,
    // from bit t = 6i mod 8 of the word); one multiply by 2^(8−t) puts code 2i at bits 8-10 and
    // code 2i + 1 at bits 11-13, and a shift by 11 brings the latter down to bits 0-2. Byte p of
    // the result is code p ^ 1. One shuffle and one multiply per block (two of each before).
    const __m256i v = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row + 12 * blk)));
    // Byte offsets (6i) >> 3 of word i: from 0 in the low half, from 6 in the high half.
    const __m256i window = _mm256_setr_epi8(0, 1, 0, 1, 1, 2, 2, 3, 3, 4, 3, 4, 4, 5, 5, 6,
                                            6, 7, 6, 7, 7, 8, 8, 9, 9, 10, 9, 10, 10, 11, 11, 12);
    // t = 0, 6, 4, 2, 0, 6, 4, 2
    const __m256i mul = _mm256_setr_epi16(256, 4, 16, 64, 256, 4, 16, 64, 256, 4, 16, 64, 256, 4, 16, 64);
    const __m256i m = _mm256_mullo_epi16(_mm256_shuffle_epi8(v, window), mul);
    return _mm256_or_si256(_mm256_and_si256(m, _mm256_set1_epi16(0x0700)),
                           _mm256_and_si256(_mm256_srli_epi16(m, 11), _mm256_set1_epi16(0x0007)));
  } else {
    static_assert(kBits == 8, "5- and 6-bit rows are read unpacked");
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + 32 * blk));
  }
}

// Codes of one row as bytes in the order Codes32 gives them (5- and 6-bit: natural order,
// from the LSB-first bitstream).
template <int kBits>
TF_Q8_ATTR void UnpackRow(const uint8_t* row, int64_t cols, uint8_t* codes) {
  if constexpr (kBits == 5 || kBits == 6) {
    unpack_code_bytes(row, kBits, cols, codes);
  } else {
    const int64_t blocks = cols / 32;
    for (int64_t blk = 0; blk + 1 < blocks; ++blk)
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(codes + 32 * blk), Codes32<kBits, false>(row, blk));
    // The last block from a copy with room after it (this row may end the mapped tensor).
    uint8_t last[4 * kBits + kRowSlack] = {};
    std::memcpy(last, row + 4 * kBits * (blocks - 1), 4 * kBits);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(codes + 32 * (blocks - 1)), Codes32<kBits, false>(last, 0));
  }
}

// One block of 8 rows (vector r = row r's 8 quads) stored as 8 vectors of one quad each.
TF_Q8_ATTR inline __attribute__((always_inline)) void StoreTransposed(__m256i* v, int64_t blk, int32_t* quads) {
  transpose8_dwords(v);
#pragma GCC unroll 8
  for (int q = 0; q < 8; ++q) _mm256_storeu_si256(reinterpret_cast<__m256i*>(quads + (8 * blk + q) * 8), v[q]);
}

// Rows first, first + row_bytes, … (n ≤ 8 of them; the others read as zeros) in the 256-bit
// tile layout: dword r of vector j = codes 4j … 4j + 3 of row r in block order, each block of
// the 8 rows unpacked in registers and transposed (transpose_avx2.h) without a pass through
// memory. The 8 rows after them are prefetched meanwhile (the caller's next call): eight
// streams a few bytes apart each do not start the hardware prefetchers soon enough.
template <int kBits>
TF_Q8_ATTR void UnpackRows8(const uint8_t* first, size_t row_bytes, int n, int64_t cols, int32_t* quads) {
  const int64_t blocks = cols / 32;
  if constexpr (kBits == 5 || kBits == 6) {
    thread_local std::vector<uint8_t> bytes;
    bytes.assign(static_cast<size_t>(8 * cols), 0);
    for (int r = 0; r < n; ++r) UnpackRow<kBits>(first + r * row_bytes, cols, bytes.data() + r * cols);
    for (int64_t blk = 0; blk < blocks; ++blk) {
      __m256i v[8];
#pragma GCC unroll 8
      for (int r = 0; r < 8; ++r) v[r] = Codes32<kBits, true>(bytes.data() + r * cols, blk);
      StoreTransposed(v, blk, quads);
    }
  } else {
    const uint8_t* ahead = first + 8 * row_bytes;
    constexpr size_t kAheadPerBlock = 8 * 4 * kBits;  // 8 rows' worth of a block's bytes
    for (int64_t blk = 0; blk + 1 < blocks; ++blk) {
      for (size_t off = blk * kAheadPerBlock; off < (blk + 1) * kAheadPerBlock; off += 64)
        __builtin_prefetch(ahead + off);
      __m256i v[8];
#pragma GCC unroll 8
      for (int r = 0; r < 8; ++r)
        v[r] = r < n ? Codes32<kBits, false>(first + r * row_bytes, blk) : _mm256_setzero_si256();
      StoreTransposed(v, blk, quads);
    }
    // The last block from copies with room after them (a row may end the mapped tensor).
    uint8_t last[8][4 * kBits + kRowSlack] = {};
    __m256i v[8];
    for (int r = 0; r < 8; ++r) {
      if (r < n) std::memcpy(last[r], first + r * row_bytes + 4 * kBits * (blocks - 1), 4 * kBits);
      v[r] = Codes32<kBits, false>(last[r], 0);
    }
    StoreTransposed(v, blocks - 1, quads);
  }
}

#define TF_Q8_INLINE TF_Q8_ATTR inline __attribute__((always_inline))

// One group of kGroup codes against kTT tokens: f[i] += (Σ_k q_k · x_q[i][k]) · sd_i. Each 32-code
// block is unpacked once and consumed at once by every token (no array of codes: GCC spills
// one to the stack), and every loop has a constant trip count, unrolled, so the accumulators
// stay in registers.
template <int kBits, bool kBytes, int kTT, int kGroup>
TF_Q8_INLINE void GroupDots(const uint8_t* row, int64_t g, const int8_t* const* x,
                            const float* sd, int64_t sd_stride, __m256* f) {
  constexpr int kB = kGroup / 32;
  __m256i acc[kTT];
#if TF_Q8_DOT == 0
  // Pairs of products summed in int16 (≤ 2·(2^b − 1)·127 each): as many blocks as cannot
  // overflow are added in int16 before vpmaddwd widens them. 8-bit codes would saturate
  // vpmaddubsw: split into nibbles, the high one weighted 16.
  constexpr int kPairMax = 2 * ((1 << (kBits == 8 ? 4 : kBits)) - 1) * 127;
  constexpr int kRun = 32767 / kPairMax;
  const __m256i ones = _mm256_set1_epi16(1);
  __m256i s16[kTT];
#pragma GCC unroll 4
  for (int k = 0; k < kB; ++k) {
    const __m256i c = Codes32<kBits, kBytes>(row, g * kB + k);
    if constexpr (kBits == 8) {
      const __m256i lo = _mm256_and_si256(c, _mm256_set1_epi8(15));
      const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(c, 4), _mm256_set1_epi8(15));
#pragma GCC unroll 4
      for (int i = 0; i < kTT; ++i) {
        const __m256i xv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x[i] + g * kGroup + 32 * k));
        const __m256i l = _mm256_madd_epi16(_mm256_maddubs_epi16(lo, xv), ones);
        const __m256i h = _mm256_madd_epi16(_mm256_maddubs_epi16(hi, xv), _mm256_set1_epi16(16));
        acc[i] = k == 0 ? _mm256_add_epi32(l, h) : _mm256_add_epi32(acc[i], _mm256_add_epi32(l, h));
      }
    } else {
#pragma GCC unroll 4
      for (int i = 0; i < kTT; ++i) {
        const __m256i p = _mm256_maddubs_epi16(
            c, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x[i] + g * kGroup + 32 * k)));
        s16[i] = k % kRun == 0 ? p : _mm256_add_epi16(s16[i], p);
        if (k % kRun == kRun - 1 || k == kB - 1) {  // widen the run
          const __m256i w = _mm256_madd_epi16(s16[i], ones);
          acc[i] = k < kRun ? w : _mm256_add_epi32(acc[i], w);
        }
      }
    }
  }
#else
#pragma GCC unroll 4
  for (int k = 0; k < kB; ++k) {
    const __m256i c = Codes32<kBits, kBytes>(row, g * kB + k);
#pragma GCC unroll 4
    for (int i = 0; i < kTT; ++i) {
      const __m256i xv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x[i] + g * kGroup + 32 * k));
      const __m256i a = k == 0 ? _mm256_setzero_si256() : acc[i];
#if TF_Q8_DOT == 1
      acc[i] = _mm256_dpbusd_avx_epi32(a, c, xv);
#else
      acc[i] = _mm256_dpbusd_epi32(a, c, xv);
#endif
    }
  }
#endif
#pragma GCC unroll 4
  for (int i = 0; i < kTT; ++i)
    f[i] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(acc[i]), _mm256_broadcast_ss(sd + i * sd_stride + g), f[i]);
}

TF_Q8_ATTR inline float HorizontalSum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// Row scales (or biases) of one dtype as float, times a per-group factor when `mul` is given.
template <DType kDt>
TF_Q8_INLINE void ScaleRowAs(const uint8_t* src, int64_t count, const float* mul, float* dst) {
  int64_t i = 0;
  for (; i + 8 <= count; i += 8) {
    __m256 v;
    if constexpr (kDt == DType::BF16)
      v = _mm256_castsi256_ps(_mm256_slli_epi32(
          _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + 2 * i))), 16));
    else if constexpr (kDt == DType::F16)
      v = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + 2 * i)));
    else
      v = _mm256_loadu_ps(reinterpret_cast<const float*>(src) + i);
    if (mul) v = _mm256_mul_ps(v, _mm256_loadu_ps(mul + i));
    _mm256_storeu_ps(dst + i, v);
  }
  for (; i < count; ++i) dst[i] = load_float(src, kDt, i) * (mul ? mul[i] : 1.0f);
}

// Inlined into each row's loop, the dtype branch taken once per call instead of per vector.
TF_Q8_INLINE void ScaleRow(const uint8_t* src, DType dt, int64_t count, const float* mul, float* dst) {
  switch (dt) {
    case DType::BF16: return ScaleRowAs<DType::BF16>(src, count, mul, dst);
    case DType::F16: return ScaleRowAs<DType::F16>(src, count, mul, dst);
    default: return ScaleRowAs<DType::F32>(src, count, mul, dst);
  }
}

// Σ_g β_g · Σx_g.
TF_Q8_ATTR inline __m256 BiasLanes(const float* b, const float* gs, int64_t count) {
  __m256 acc = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 8 <= count; i += 8)
    acc = _mm256_fmadd_ps(_mm256_loadu_ps(b + i), _mm256_loadu_ps(gs + i), acc);
  float tail = 0.0f;
  for (; i < count; ++i) tail += b[i] * gs[i];
  return _mm256_add_ps(acc, _mm256_setr_ps(tail, 0, 0, 0, 0, 0, 0, 0));
}

// One row against kTT tokens starting at t0: out[i] = y[t0 + i][row]. `row` is packed, or
// unpacked bytes when kBytes. sd[i·sd_stride + g] = s_g · d_{t0+i,g}; b[g] = β_g.
template <int kBits, bool kBytes, int kTT, int kGroup>
TF_Q8_INLINE void RowTokens(const uint8_t* row, const Q8Input& in, int64_t t0, const float* sd,
                          int64_t sd_stride, const float* b, float* out) {
  const int8_t* x[kTT];
  for (int i = 0; i < kTT; ++i) x[i] = in.values + (t0 + i) * in.padded_cols;
  // Two accumulator chains per token (even and odd groups), so the convert → multiply-add
  // latency of one group overlaps the next group's dots.
  __m256 f0[kTT], f1[kTT];
#pragma GCC unroll 4
  for (int i = 0; i < kTT; ++i) f0[i] = f1[i] = _mm256_setzero_ps();
  int64_t g = 0;
  for (; g + 2 <= in.groups; g += 2) {
    GroupDots<kBits, kBytes, kTT, kGroup>(row, g, x, sd, sd_stride, f0);
    GroupDots<kBits, kBytes, kTT, kGroup>(row, g + 1, x, sd, sd_stride, f1);
  }
  if (g < in.groups) GroupDots<kBits, kBytes, kTT, kGroup>(row, g, x, sd, sd_stride, f0);
  for (int i = 0; i < kTT; ++i) {
    const __m256 bias = BiasLanes(b, in.group_sums + (t0 + i) * in.groups, in.groups);
    out[i] = HorizontalSum(_mm256_add_ps(_mm256_add_ps(f0[i], f1[i]), bias));
  }
}

// Tokens per tile: 16 ymm registers hold two float accumulators and an int one per token of
// a tile of 4; a tile of 8 spills from 6 tokens on (q8_small_batch_bench, L3-hot 3-bit
// 8192 x 2048, AVX2 target: 6 tokens 2.3 → 3.3 ms, 8 tokens 2.8 → 3.9 ms; bench/RESULTS.md).
#define TF_Q8_TOKEN_TILE 4
#include "kernels/linear_q8_rows-inl.h"
#undef TF_Q8_TOKEN_TILE
