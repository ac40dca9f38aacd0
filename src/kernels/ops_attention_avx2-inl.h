// Int8 key scores for attend_group on AVX2 (vpmaddubsw), included by ops_attention_simd.cpp
// only while Highway compiles its AVX2 target (inside that target's namespace). The same math
// and query layout as the AVX-512 VNNI version (ops_attention_vnni-inl.h):
//   q·k = Σ_g s_g · (d_g · Σ_{e∈g} qi_e c_e) + β_g · Σ_{e∈g} q_e
// with the heads as lanes: a key dword (4 codes of a plane) is broadcast to every lane and
// vpmaddubsw (unsigned codes × signed query bytes) adds pairs of products into int16 — two per
// head — which vpmaddwd widens once per run. Why: on an AVX2 core the float kernel spends a
// dequantizing FMA per element and 8 FMAs per 8 elements and heads, and quantized caches ran
// slower than f16 (bench/RESULTS.md, "Int8 key scores on AVX2").
//
// 8-bit keys: a pair of 8-bit codes times int8 query bytes (2 · 255 · 127) overflows
// vpmaddubsw's int16 sum (and centring the codes for vpsignb fails at c − 128 = −128), so the
// query is split in nibbles, qi = 16 · high + low (Int8Tile::qt_high, qt_low), and each half
// multiplies the codes exactly: two vpmaddubsw per key dword where 4-bit codes need one per
// plane, with no unpacking of the codes. The sums are the same integers as VNNI's.

#undef TF_ATTN_INT8_ATTR
#define TF_ATTN_INT8_ATTR  // Highway's AVX2 target attributes cover vpmaddubsw

// Quads of products a run adds in int16 before one vpmaddwd widens it: a pair is at most
// 2 · (2^b − 1) · 127, and the sum of a run must stay within int16.
template <int kBits>
constexpr int kMaddubsRun = 32767 / (2 * ((1 << kBits) - 1) * 127);

// 8-bit keys (see the top): s[p + r][h] = scale · score of head h against key p0 + p + r. A
// pair of codes times the query's high nibbles is at most 2 · 255 · 8, times its low nibbles
// 2 · 255 · 15: runs of 8 and 4 key dwords add in int16 before vpmaddwd widens them (the high
// run weighted 16). A group (32, 64 or 128 codes) is a whole number of both runs.
template <int R>
HWY_INLINE void ScoreRowsBytes(const Int8Tile& t, const QuantRow<8>& f, const Rows& rows,
                               int64_t p0, int64_t p, int dim, float scale, BlockScores& s,
                               bool prefetch_values) {
  constexpr int kHighRun = 32767 / (2 * 255 * 8), kLowRun = 32767 / (2 * 255 * 15);
  static_assert(kHighRun == 2 * kLowRun, "a high run is two low runs");
  const int G = 1 << f.group_shift;  // 8-bit: a group's codes are G bytes
  const __m256i ones = _mm256_set1_epi16(1), sixteen = _mm256_set1_epi16(16);
  const uint8_t* k[R];
  __m256 sc[R];
  StartScoreRows<R>(rows, p0 + p, prefetch_values, k, sc);
  for (int g = 0; g < dim / G; ++g) {
    __m256i acc[R], high[R];
    HWY_UNROLL(4) for (int r = 0; r < R; ++r) acc[r] = high[r] = _mm256_setzero_si256();
    for (int i = 0; i < G; i += 4 * kLowRun) {
      __m256i low[R];
      HWY_UNROLL(4) for (int r = 0; r < R; ++r) low[r] = _mm256_setzero_si256();
      HWY_UNROLL(4) for (int u = 0; u < kLowRun; ++u) {
        const int dword = (g * G + i) / 4 + u;
        const __m256i qh = _mm256_load_si256(reinterpret_cast<const __m256i*>(t.qt_high[dword]));
        const __m256i ql = _mm256_load_si256(reinterpret_cast<const __m256i*>(t.qt_low[dword]));
        HWY_UNROLL(4) for (int r = 0; r < R; ++r) {
          uint32_t word;
          std::memcpy(&word, k[r] + g * G + i + 4 * u, 4);
          const __m256i kb = _mm256_set1_epi32(static_cast<int>(word));
          high[r] = _mm256_add_epi16(high[r], _mm256_maddubs_epi16(kb, qh));
          low[r] = _mm256_add_epi16(low[r], _mm256_maddubs_epi16(kb, ql));
        }
      }
      const bool high_full = (i / 4 + kLowRun) % kHighRun == 0;
      HWY_UNROLL(4) for (int r = 0; r < R; ++r) {
        acc[r] = _mm256_add_epi32(acc[r], _mm256_madd_epi16(low[r], ones));
        if (high_full) {
          acc[r] = _mm256_add_epi32(acc[r], _mm256_madd_epi16(high[r], sixteen));
          high[r] = _mm256_setzero_si256();
        }
      }
    }
    AddGroupScores<8, R>(t, f, g, k, acc, sc);
  }
  StoreScoreRows<R>(sc, scale, p, s);
}

// 4- and 2-bit keys: s[p + r][h] = scale · score of head h against key p0 + p + r, for R rows
// at once. prefetch_values: request the rows' values meanwhile.
template <int kBits, int R>
HWY_INLINE void ScoreRowsPlanes(const Int8Tile& t, const QuantRow<kBits>& f, const Rows& rows,
                                int64_t p0, int64_t p, int dim, float scale, BlockScores& s,
                                bool prefetch_values) {
  static_assert(kBits == 4 || kBits == 2);
  const int G = 1 << f.group_shift, P = 1 << f.plane_shift;
  const __m256i mask = _mm256_set1_epi8(static_cast<char>((1 << kBits) - 1));
  const __m256i ones = _mm256_set1_epi16(1);
  const uint8_t* k[R];
  __m256 sc[R];
  StartScoreRows<R>(rows, p0 + p, prefetch_values, k, sc);
  for (int g = 0; g < dim / G; ++g) {
    __m256i acc[R], run[R];
    int in_run = 0;
    HWY_UNROLL(4) for (int r = 0; r < R; ++r) acc[r] = run[r] = _mm256_setzero_si256();
    // Each dword of the group's P bytes holds 4 codes of every plane.
    for (int i = 0; i < P; i += 4) {
      __m256i kb[R];
      HWY_UNROLL(4) for (int r = 0; r < R; ++r) {
        uint32_t word;
        std::memcpy(&word, k[r] + g * P + i, 4);
        kb[r] = _mm256_set1_epi32(static_cast<int>(word));
      }
      HWY_UNROLL(4) for (int plane = 0; plane < 8 / kBits; ++plane) {
        const __m256i qv = _mm256_load_si256(
            reinterpret_cast<const __m256i*>(t.qt[(g * G + i) / 4 + plane * (P / 4)]));
        HWY_UNROLL(4) for (int r = 0; r < R; ++r) {
          const __m256i u = _mm256_and_si256(plane == 0 ? kb[r] : _mm256_srli_epi32(kb[r], kBits * plane), mask);
          run[r] = _mm256_add_epi16(run[r], _mm256_maddubs_epi16(u, qv));
        }
        if (++in_run == kMaddubsRun<kBits>) {
          HWY_UNROLL(4) for (int r = 0; r < R; ++r) {
            acc[r] = _mm256_add_epi32(acc[r], _mm256_madd_epi16(run[r], ones));
            run[r] = _mm256_setzero_si256();
          }
          in_run = 0;
        }
      }
    }
    HWY_UNROLL(4) for (int r = 0; r < R; ++r) acc[r] = _mm256_add_epi32(acc[r], _mm256_madd_epi16(run[r], ones));
    AddGroupScores<kBits, R>(t, f, g, k, acc, sc);
  }
  StoreScoreRows<R>(sc, scale, p, s);
}

// The Int8 scores of R rows (ops_attention_simd.cpp's ScoresInt8 calls this per target).
template <int kBits, int R>
HWY_INLINE void ScoreRowsInt8(const Int8Tile& t, const QuantRow<kBits>& f, const Rows& rows,
                              int64_t p0, int64_t p, int dim, float scale, BlockScores& s,
                              bool prefetch_values) {
  if constexpr (kBits == 8)
    ScoreRowsBytes<R>(t, f, rows, p0, p, dim, scale, s, prefetch_values);
  else
    ScoreRowsPlanes<kBits, R>(t, f, rows, p0, p, dim, scale, s, prefetch_values);
}
