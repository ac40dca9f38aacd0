// Int8 key scores for attend_group on AVX2 (vpmaddubsw), for 4- and 2-bit keys, included by
// ops_attention_simd.cpp only while Highway compiles its AVX2 target (inside that target's
// namespace). The same math and query layout as the AVX-512 VNNI version
// (ops_attention_vnni-inl.h):
//   q·k = Σ_g s_g · (d_g · Σ_{e∈g} qi_e c_e) + β_g · Σ_{e∈g} q_e
// with the heads as lanes: a key dword (4 codes of a plane) is broadcast to every lane and
// vpmaddubsw (unsigned codes × signed query bytes) adds pairs of products into int16 — two per
// head — which vpmaddwd widens once per run. Why: on an AVX2 core the float kernel spends a
// dequantizing FMA per element and 8 FMAs per 8 elements and heads, and quantized caches ran
// slower than f16 (bench/RESULTS.md, "Int8 key scores on AVX2").
//
// 8-bit keys stay on the float path: a pair of 8-bit codes times int8 query bytes
// (2 · 255 · 127) overflows vpmaddubsw's int16 sum, and centring the codes for vpsignb fails at
// c − 128 = −128 (no +128 in a byte). Not tried: codes widened to int16 for vpmaddwd (exact,
// half the products per instruction).

#undef TF_ATTN_INT8_ATTR
#define TF_ATTN_INT8_ATTR  // Highway's AVX2 target attributes cover vpmaddubsw

// Quads of products a run adds in int16 before one vpmaddwd widens it: a pair is at most
// 2 · (2^b − 1) · 127, and the sum of a run must stay within int16.
template <int kBits>
constexpr int kMaddubsRun = 32767 / (2 * ((1 << kBits) - 1) * 127);

// s[p + r][h] = scale · score of head h against key p0 + p + r, for R rows at once.
// prefetch_values: request the rows' values meanwhile.
template <int kBits, int R>
HWY_INLINE void ScoreRowsInt8(const Int8Tile& t, const QuantRow<kBits>& f, const Rows& rows,
                              int64_t p0, int64_t p, int dim, float scale, BlockScores& s,
                              bool prefetch_values) {
  static_assert(kBits == 4 || kBits == 2, "8-bit keys take the float path on AVX2");
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
