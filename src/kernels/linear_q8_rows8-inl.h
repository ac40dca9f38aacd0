// The products of the 8-row interleaved kernel (linear_q8_rows8.cpp), included there once per
// way of forming byte dot products (TF_Q8_DOT: 0 = vpmaddubsw + vpmaddwd, AVX2; 1 = VEX
// vpdpbusd, AVX-VNNI; 2 = EVEX vpdpbusd on ymm, AVX-512 VNNI + VL), inside a namespace of its
// own, with TF_Q8_ATTR the matching target attribute — as the row kernels are
// (linear_q8_avx2-inl.h). Layout and math: linear_q8_rows8.cpp.

namespace {

#define TF_Q8_INLINE TF_Q8_ATTR inline __attribute__((always_inline))

// Quad q of a group's codes as one vector of 8 rows × 4 codes (byte 4r + b), in the order of
// the activations (planes order: quad 4j + p = plane p of column j, codes 16j + 4b + p). Called
// with q a constant (the callers' loops are unrolled), so the shifts are immediates and the
// loads of one chunk are shared by its planes.
//   2-bit: plane p of column j (8 rows' dwords) is (v >> 2p) & 3; the 16-bit shift moves no bit
//          across a byte that the mask keeps.
//   3-bit: per 32 codes three vectors X, Y, Z (WeightMatrix::interleaved_place): planes 0, 1
//          / 3, 4 / 6, 7 whole at bits 0 and 3 of X / Y / Z — one mask, or a shift and a mask —
//          and planes 2 and 5 their low bits at bit 6 of X / Y, their high bit at bit 6 / 7 of
//          Z — two shifts, two masks and an or: 19 operations per 8 planes (bit planes of the
//          high bits, the layout before, took 37).
template <int kBits>
TF_Q8_INLINE __m256i Quad(const uint8_t* group_codes, int q) {
  const __m256i three = _mm256_set1_epi8(3);
  if constexpr (kBits == 2) {
    const uint8_t* col = group_codes + 32 * (q / 4);
    if (q % 8 == 0) _mm_prefetch(reinterpret_cast<const char*>(col + kRows8PrefetchBytes), _MM_HINT_T0);
    const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(col));
    const int p = q % 4;
    return _mm256_and_si256(p == 0 ? v : _mm256_srli_epi16(v, 2 * p), three);
  } else {
    const uint8_t* chunk = group_codes + 96 * (q / 8);
    if (q % 8 == 0) {
      _mm_prefetch(reinterpret_cast<const char*>(chunk + kRows8PrefetchBytes), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(chunk + 64 + kRows8PrefetchBytes), _MM_HINT_T0);
    }
    const int h = q % 8;
    const __m256i seven = _mm256_set1_epi8(7);
    const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(chunk + 32 * (h / 3)));
    if (h == 2 || h == 5) {
      const __m256i z = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(chunk + 64));
      const __m256i high = _mm256_and_si256(_mm256_srli_epi16(z, h == 2 ? 4 : 5), _mm256_set1_epi8(4));
      return _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(v, 6), three), high);
    }
    return _mm256_and_si256(h % 3 == 0 ? v : _mm256_srli_epi16(v, 3), seven);
  }
}

// 8 values of one group (their dtype) as float.
TF_Q8_INLINE __m256 Load8(const uint8_t* p, DType dt) {
  if (dt == DType::BF16)
    return _mm256_castsi256_ps(
        _mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))), 16));
  if (dt == DType::F16) return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  return _mm256_loadu_ps(reinterpret_cast<const float*>(p));
}

// One token's 4 activation bytes of quad q, in every dword.
TF_Q8_INLINE __m256i Broadcast4(const int8_t* x, int q) {
  int32_t x4;
  std::memcpy(&x4, x + 4 * q, 4);
  return _mm256_set1_epi32(x4);
}

// The group's epilogue for kT tokens of one block's 8 rows: f += s · d_t · Σ q·x_q + β · Σx_t.
template <int kT>
TF_Q8_INLINE void GroupEpilogue(const __m256i (&acc)[kT], __m256 s, __m256 bias, const Q8TileInput& in, int64_t t0,
                                int64_t groups, int64_t g, __m256 (&f)[kT]) {
#pragma GCC unroll 4
  for (int t = 0; t < kT; ++t) {
    const int64_t ti = (t0 + t) * groups + g;
    f[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(acc[t]), _mm256_mul_ps(s, _mm256_set1_ps(in.deltas[ti])), f[t]);
    f[t] = _mm256_fmadd_ps(bias, _mm256_set1_ps(in.group_sums[ti]), f[t]);
  }
}

// Token tiles of 4, then the rest: run(kT, t0) with kT a constant.
template <class Run>
TF_Q8_INLINE void TokenTiles(int64_t tokens, Run&& run) {
  int64_t t = 0;
  for (; t + 4 <= tokens; t += 4) run(std::integral_constant<int, 4>{}, t);
  switch (tokens - t) {
    case 3: run(std::integral_constant<int, 3>{}, t); break;
    case 2: run(std::integral_constant<int, 2>{}, t); break;
    case 1: run(std::integral_constant<int, 1>{}, t); break;
    default: break;
  }
}

// Independent vpdpbusd chains per token (its latency would otherwise bound a tile of one or two
// tokens; the integer sums do not depend on the split). vpmaddubsw's int16 sums chain through a
// one-cycle add: one chain.
template <int kT>
constexpr int kChains = TF_Q8_DOT == 0 ? 1 : kT == 1 ? 4 : kT == 2 ? 2 : 1;

// kT tokens (t0 …) against the 8 rows of each of kNB blocks blk[b]: y[t][8 · blk[b] + r].
//
// kNB = 2 (vpmaddubsw only): each broadcast of a token's activation quad serves both blocks'
// planes. Without vpdpbusd a token costs a vpmaddubsw, a vpaddw and its broadcast per plane, so
// sharing the broadcast saves a sixth of the per-token work; and each thread reads two streams
// of codes instead of one, more lines in flight. BlocksT pairs block b with b + half of its
// range, not b + 1: then each stream runs on through consecutive blocks, which the prefetchers
// follow; neighbours make both streams restart every block and measured slower than one block
// at a time from DRAM. One thread, a 8192 × 2048 3-bit matrix from DRAM (q8_small_batch_bench
// Rows8): T = 2 / 3 / 4 1.11–1.12×; decode on two cores 1.1–1.2× (bench/RESULTS.md, "Two blocks
// per broadcast"). Per block the same integer sums in the same order and the same epilogue
// whatever kNB, so the same bits.
template <int kBits, int kGroup, int kT, int kNB>
TF_Q8_ATTR void BlockTokens(const WeightMatrix& w, const int64_t (&blk)[kNB], const Q8TileInput& in, int64_t t0,
                            float* y, int64_t y_stride) {
  static_assert(kNB == 1 || (kNB == 2 && TF_Q8_DOT == 0), "pairs of blocks: the vpmaddubsw form only");
  const int64_t groups = w.groups_per_row();
  const size_t e = dtype_size(w.dtype);
  const size_t block_codes = static_cast<size_t>(kRows8) * w.row_bytes();
  const size_t block_params = static_cast<size_t>(groups * kRows8) * e;
  const uint8_t* codes[kNB];
#pragma GCC unroll 2
  for (int b = 0; b < kNB; ++b) codes[b] = w.data + static_cast<size_t>(blk[b]) * block_codes;
  const int8_t* x0 = in.values + t0 * in.stride;
  constexpr int kQuads = kGroup / 4;
  __m256 f[kNB][kT];
#pragma GCC unroll 2
  for (int b = 0; b < kNB; ++b)
#pragma GCC unroll 4
    for (int t = 0; t < kT; ++t) f[b][t] = _mm256_setzero_ps();
  for (int64_t g = 0; g < groups; ++g) {
    const int8_t* xg = x0 + g * kGroup;
    const uint8_t* gcodes[kNB];  // a group's codes of 8 rows: 8 · G · b / 8 bytes
#pragma GCC unroll 2
    for (int b = 0; b < kNB; ++b) gcodes[b] = codes[b] + g * kGroup * kBits;
    __m256i acc[kNB][kT];
#if TF_Q8_DOT == 0
    // vpmaddubsw sums two products in int16 (≤ 2·(2^b − 1)·127 each): a run of kRun quads adds
    // in int16 before one vpmaddwd widens it — a whole group of 64 (2-bit: of 128).
    constexpr int kPairMax = 2 * ((1 << kBits) - 1) * 127;
    constexpr int kRun = std::min(kQuads, kBits == 2 ? 32 : 16);
    static_assert(kRun * kPairMax <= 32767, "int16 sums of a run cannot overflow");
    static_assert(kQuads % kRun == 0, "whole runs");
    __m256i s16[kNB][kT];
#pragma GCC unroll 32
    for (int q = 0; q < kQuads; ++q) {
      __m256i plane[kNB];
#pragma GCC unroll 2
      for (int b = 0; b < kNB; ++b) plane[b] = Quad<kBits>(gcodes[b], q);
#pragma GCC unroll 4
      for (int t = 0; t < kT; ++t) {
        const __m256i x = Broadcast4(xg + t * in.stride, q);
#pragma GCC unroll 2
        for (int b = 0; b < kNB; ++b) {
          const __m256i p = _mm256_maddubs_epi16(plane[b], x);
          s16[b][t] = q % kRun == 0 ? p : _mm256_add_epi16(s16[b][t], p);
          // One running sum: left to itself GCC reassociates the run into a tree of adds, which
          // keeps every product live and spills them (kT = 4: all 64).
          __asm__("" : "+x"(s16[b][t]));
          if (q % kRun == kRun - 1) {
            const __m256i wide = _mm256_madd_epi16(s16[b][t], _mm256_set1_epi16(1));
            acc[b][t] = q < kRun ? wide : _mm256_add_epi32(acc[b][t], wide);
          }
        }
      }
    }
#else
    __m256i chain[kChains<kT>][kT];
#pragma GCC unroll 4
    for (int c = 0; c < kChains<kT>; ++c)
#pragma GCC unroll 4
      for (int t = 0; t < kT; ++t) chain[c][t] = _mm256_setzero_si256();
#pragma GCC unroll 32
    for (int q = 0; q < kQuads; ++q) {
      const __m256i plane = Quad<kBits>(gcodes[0], q);
      __m256i* ch = chain[q % kChains<kT>];
#pragma GCC unroll 4
      for (int t = 0; t < kT; ++t) {
#if TF_Q8_DOT == 1
        ch[t] = _mm256_dpbusd_avx_epi32(ch[t], plane, Broadcast4(xg + t * in.stride, q));
#else
        ch[t] = _mm256_dpbusd_epi32(ch[t], plane, Broadcast4(xg + t * in.stride, q));
#endif
      }
    }
#pragma GCC unroll 4
    for (int t = 0; t < kT; ++t) {
      acc[0][t] = chain[0][t];
#pragma GCC unroll 4
      for (int c = 1; c < kChains<kT>; ++c) acc[0][t] = _mm256_add_epi32(acc[0][t], chain[c][t]);
    }
#endif
#pragma GCC unroll 2
    for (int b = 0; b < kNB; ++b) {
      const size_t at = static_cast<size_t>(blk[b]) * block_params + static_cast<size_t>(g * kRows8) * e;
      GroupEpilogue<kT>(acc[b], Load8(w.scales + at, w.dtype), Load8(w.biases + at, w.dtype), in, t0, groups, g,
                        f[b]);
    }
  }
#pragma GCC unroll 2
  for (int b = 0; b < kNB; ++b)
#pragma GCC unroll 4
    for (int t = 0; t < kT; ++t) _mm256_storeu_ps(y + (t0 + t) * y_stride + blk[b] * kRows8, f[b][t]);
}

template <int kBits, int kGroup>
TF_Q8_ATTR void BlocksT(const WeightMatrix& w, const Q8TileInput& in, int64_t row_begin, int64_t row_end,
                        float* y, int64_t y_stride) {
  int64_t blk = row_begin / kRows8;
#if TF_Q8_DOT == 0
  // Blocks b and b + half together, then an odd last block alone.
  const int64_t half = (row_end / kRows8 - blk) / 2;
  for (int64_t i = 0; i < half; ++i) {
    const int64_t pair[2] = {blk + i, blk + half + i};
    TokenTiles(in.tokens, [&](auto tile, int64_t t) {
      BlockTokens<kBits, kGroup, decltype(tile)::value>(w, pair, in, t, y, y_stride);
    });
  }
  blk += 2 * half;
#endif
  for (; blk < row_end / kRows8; ++blk) {
    const int64_t one[1] = {blk};
    TokenTiles(in.tokens, [&](auto tile, int64_t t) {
      BlockTokens<kBits, kGroup, decltype(tile)::value>(w, one, in, t, y, y_stride);
    });
  }
}

#undef TF_Q8_INLINE

}  // namespace

// Rows [row_begin, row_end) (whole blocks of 8) against every token of `in`, reading the codes in
// place.
void Blocks(const WeightMatrix& w, const Q8TileInput& in, int64_t row_begin, int64_t row_end, float* y,
            int64_t y_stride) {
  const auto by_group = [&](auto bits) {
    constexpr int kBits = decltype(bits)::value;
    switch (w.group_size) {
      case 32: return BlocksT<kBits, 32>(w, in, row_begin, row_end, y, y_stride);
      case 64: return BlocksT<kBits, 64>(w, in, row_begin, row_end, y, y_stride);
      default: return BlocksT<kBits, 128>(w, in, row_begin, row_end, y, y_stride);
    }
  };
  if (w.bits == 2)
    by_group(std::integral_constant<int, 2>{});
  else
    by_group(std::integral_constant<int, 3>{});
}
