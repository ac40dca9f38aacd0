// The products of the 256-bit tile kernel (linear_q8_tiles_avx2.cpp), included there once per way
// of forming byte dot products (TF_Q8_DOT: 0 = vpmaddubsw + vpmaddwd, AVX2; 1 = VEX vpdpbusd,
// AVX-VNNI; 2 = EVEX vpdpbusd on ymm, AVX-512 VNNI + VL), inside a namespace of its own, with
// TF_Q8_ATTR the matching target attribute — as the row kernels are (linear_q8_avx2-inl.h).
// Reads the Block, kRows, Repack of the including file.

namespace {

// One token's 4 activation bytes of quad q, in every dword.
TF_Q8_ATTR inline __attribute__((always_inline)) __m256i TokenQuad(const int8_t* x, int q) {
  int32_t x4;
  std::memcpy(&x4, x + 4 * q, 4);
  return _mm256_set1_epi32(x4);
}

// One group's products for kNB blocks of 8 rows × kT tokens: acc[b][t] lane r =
// Σ_{k∈g} q_{8b+r,k} · x_q[t][k]. `c[b]`: block b's quads of the group ([quad][8 rows] dwords);
// `x`: token 0's bytes of the group. A token's broadcast serves every block.
template <int kBits, int kQuads, int kT, int kNB>
TF_Q8_ATTR inline __attribute__((always_inline)) void GroupProducts(const int32_t* const* c, const int8_t* x,
                                                                    int64_t stride, __m256i (*acc)[kT]) {
#if TF_Q8_DOT == 0
  // vpmaddubsw sums two products in int16 (≤ 2·(2^b − 1)·127): kRun quads add in int16 before
  // one vpmaddwd widens them — a whole group of 64 for 2- and 3-bit codes. 8-bit codes would
  // saturate it: split into nibbles, the high one weighted 16 at the widening.
  constexpr int kPairMax = 2 * ((1 << (kBits == 8 ? 4 : kBits)) - 1) * 127;
  constexpr int kRun = std::min(kQuads, 32767 / kPairMax);
  const __m256i ones = _mm256_set1_epi16(1), sixteens = _mm256_set1_epi16(16), low4 = _mm256_set1_epi8(15);
  __m256i lo[kNB][kT], hi[kNB][kT];
  // One flat loop, unrolled whole (q a constant in every copy): nested run loops stayed rolled,
  // with a branch per quad for the run's first product (bench/RESULTS.md, "Tile kernel unrolled").
#pragma GCC unroll 32
  for (int q = 0; q < kQuads; ++q) {
    const bool first = q % kRun == 0, last = q % kRun == kRun - 1 || q == kQuads - 1;
    __m256i cl[kNB], ch[kNB];
#pragma GCC unroll 2
    for (int b = 0; b < kNB; ++b) {
      const __m256i cv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(c[b] + q * kRows));
      cl[b] = cv;
      ch[b] = cv;
      if constexpr (kBits == 8) {
        cl[b] = _mm256_and_si256(cv, low4);
        ch[b] = _mm256_and_si256(_mm256_srli_epi16(cv, 4), low4);
      }
    }
#pragma GCC unroll 4
    for (int t = 0; t < kT; ++t) {
      const __m256i xb = TokenQuad(x + t * stride, q);
#pragma GCC unroll 2
      for (int b = 0; b < kNB; ++b) {
        const __m256i p = _mm256_maddubs_epi16(cl[b], xb);
        lo[b][t] = first ? p : _mm256_add_epi16(lo[b][t], p);
        // One running sum (as in linear_q8_rows8-inl.h): left to itself GCC reassociates the
        // run into a tree of adds that keeps every product live.
        __asm__("" : "+x"(lo[b][t]));
        if constexpr (kBits == 8) {
          const __m256i ph = _mm256_maddubs_epi16(ch[b], xb);
          hi[b][t] = first ? ph : _mm256_add_epi16(hi[b][t], ph);
          __asm__("" : "+x"(hi[b][t]));
        }
        if (last) {
          __m256i w = _mm256_madd_epi16(lo[b][t], ones);
          if constexpr (kBits == 8) w = _mm256_add_epi32(w, _mm256_madd_epi16(hi[b][t], sixteens));
          acc[b][t] = q < kRun ? w : _mm256_add_epi32(acc[b][t], w);
        }
      }
    }
  }
#else
#pragma GCC unroll 2
  for (int b = 0; b < kNB; ++b)
#pragma GCC unroll 4
    for (int t = 0; t < kT; ++t) acc[b][t] = _mm256_setzero_si256();
#pragma GCC unroll 16
  for (int q = 0; q < kQuads; ++q) {
    __m256i cv[kNB];
#pragma GCC unroll 2
    for (int b = 0; b < kNB; ++b) cv[b] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(c[b] + q * kRows));
#pragma GCC unroll 4
    for (int t = 0; t < kT; ++t) {
      const __m256i xb = TokenQuad(x + t * stride, q);
#pragma GCC unroll 2
      for (int b = 0; b < kNB; ++b) {
#if TF_Q8_DOT == 1
        acc[b][t] = _mm256_dpbusd_avx_epi32(acc[b][t], cv[b], xb);
#else
        acc[b][t] = _mm256_dpbusd_epi32(acc[b][t], cv[b], xb);
#endif
      }
    }
  }
#endif
}

// kT tokens (t0 …) against kNB blocks: y[t][8b + r] for the n[b] rows of block b that exist.
// A group's epilogue (convert, scale, bias) serves a block's 8 rows at once.
template <int kBits, int kGroup, int kT, int kNB>
TF_Q8_ATTR void BlockTokens(const Block* const* blocks, int64_t groups, const Q8TileInput& in, int64_t t0,
                            float* y, int64_t y_stride, const int* n) {
  __m256 f[kNB][kT];
  for (int b = 0; b < kNB; ++b)
    for (int t = 0; t < kT; ++t) f[b][t] = _mm256_setzero_ps();
  constexpr int kQuads = kGroup / 4;
  for (int64_t g = 0; g < groups; ++g) {
    __m256i acc[kNB][kT];
    const int32_t* c[kNB];
    for (int b = 0; b < kNB; ++b) c[b] = blocks[b]->codes.data() + g * kQuads * kRows;
    GroupProducts<kBits, kQuads, kT, kNB>(c, in.values + t0 * in.stride + g * kGroup, in.stride, acc);
#pragma GCC unroll 2
    for (int b = 0; b < kNB; ++b) {
      const __m256 s = _mm256_loadu_ps(blocks[b]->scales.data() + g * kRows);
      const __m256 bias = _mm256_loadu_ps(blocks[b]->biases.data() + g * kRows);
#pragma GCC unroll 4
      for (int t = 0; t < kT; ++t) {
        const int64_t ti = (t0 + t) * groups + g;
        f[b][t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(acc[b][t]), _mm256_mul_ps(s, _mm256_set1_ps(in.deltas[ti])),
                                  f[b][t]);
        f[b][t] = _mm256_fmadd_ps(bias, _mm256_set1_ps(in.group_sums[ti]), f[b][t]);
      }
    }
  }
  for (int b = 0; b < kNB; ++b)
    for (int t = 0; t < kT; ++t) {
      float* yt = y + (t0 + t) * y_stride + b * kRows;
      if (n[b] == kRows) {
        _mm256_storeu_ps(yt, f[b][t]);
      } else {
        float tmp[kRows];
        _mm256_storeu_ps(tmp, f[b][t]);
        std::copy(tmp, tmp + n[b], yt);
      }
    }
}

// Every token of `in` against the blocks, 4 tokens at a time, then the rest; a token's
// broadcast serves kNB blocks only in the 4-token steps (the rest, one block at a time).
template <int kBits, int kGroup, int kNB>
TF_Q8_ATTR void Tokens(const Block* const* blocks, int64_t groups, const Q8TileInput& in, float* y,
                       int64_t y_stride, const int* n) {
  int64_t t = 0;
  for (; t + 4 <= in.tokens; t += 4) BlockTokens<kBits, kGroup, 4, kNB>(blocks, groups, in, t, y, y_stride, n);
  for (int b = 0; b < kNB; ++b) {
    float* yb = y + b * kRows;
    switch (in.tokens - t) {
      case 3: BlockTokens<kBits, kGroup, 3, 1>(blocks + b, groups, in, t, yb, y_stride, n + b); break;
      case 2: BlockTokens<kBits, kGroup, 2, 1>(blocks + b, groups, in, t, yb, y_stride, n + b); break;
      case 1: BlockTokens<kBits, kGroup, 1, 1>(blocks + b, groups, in, t, yb, y_stride, n + b); break;
      default: break;
    }
  }
}

// Two blocks per pass with vpmaddubsw (a token's broadcast then feeds two products: on a Zen 3
// the loop ran ~1.2× faster, bench/RESULTS.md "Two blocks per pass"), but not for 8-bit codes,
// whose nibble split doubles the running sums, nor with vpdpbusd (not measured: no such CPU).
template <int kBits, int kGroup>
TF_Q8_ATTR void RowsT(const WeightMatrix& w, const Q8TileInput& in, int64_t row_begin, int64_t row_end,
                      float* y, int64_t y_stride, Block* b) {
  constexpr int kPair = TF_Q8_DOT == 0 && kBits != 8 ? 2 : 1;
  const int64_t groups = w.cols / kGroup;
  const Block* blocks[2] = {&b[0], &b[1]};
  for (int64_t r0 = row_begin; r0 < row_end;) {
    const int64_t left = row_end - r0;
    const int nb = left > kRows && kPair == 2 ? 2 : 1;
    int n[2] = {static_cast<int>(std::min<int64_t>(kRows, left)), 0};
    Repack(w, r0, row_end, b[0]);
    if (nb == 2) {
      n[1] = static_cast<int>(std::min<int64_t>(kRows, left - kRows));
      Repack(w, r0 + kRows, row_end, b[1]);
      Tokens<kBits, kGroup, kPair>(blocks, groups, in, y + r0, y_stride, n);
    } else {
      Tokens<kBits, kGroup, 1>(blocks, groups, in, y + r0, y_stride, n);
    }
    r0 += nb * kRows;
  }
}

}  // namespace

// Rows [row_begin, row_end) against every token of `in`, 8 rows repacked at a time into b[0]
// (two at a time into b[0], b[1] where RowsT pairs blocks).
// The bit width matters only to vpmaddubsw's int16 runs: the vpdpbusd kernels are compiled once.
void Rows(const WeightMatrix& w, const Q8TileInput& in, int64_t row_begin, int64_t row_end,
          float* y, int64_t y_stride, Block* b) {
  const auto by_group = [&](auto bits) {
    constexpr int kBits = TF_Q8_DOT == 0 ? decltype(bits)::value : 2;
    switch (w.group_size) {
      case 32: return RowsT<kBits, 32>(w, in, row_begin, row_end, y, y_stride, b);
      case 64: return RowsT<kBits, 64>(w, in, row_begin, row_end, y, y_stride, b);
      default: return RowsT<kBits, 128>(w, in, row_begin, row_end, y, y_stride, b);
    }
  };
#if TF_Q8_DOT == 0
  with_affine_bits(w.bits, by_group);
#else
  by_group(std::integral_constant<int, 2>{});
#endif
}
