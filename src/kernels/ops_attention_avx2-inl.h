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

// Weighted values with int16 weights on AVX2: the AVX-512 VNNI path's math (int16_weighted_values,
// kernels/kv_quant.h: per block of 32 rows, group and head the weights w·s rounded to int16, the
// codes centred), with vpmaddwd in vpdpwssd's place: two rows × 8 columns for one head per
// instruction, exact int32 sums. Why it pays on AVX2 where the float path is already one FMA per
// 8 products: vpmaddwd multiplies twice as many pairs per instruction on the same two pipes, and
// the rest of a step is kept small — each row pair's codes are unpacked once for the 8 heads
// (two 8-byte loads, an interleave, a sign-extension), and the weights are broadcast once per
// block and group into whole vectors, so a head costs a vpmaddwd with a memory operand and a
// vpaddd. The next block's keys are one contiguous range of the cache, requested a slice per
// column step.
template <int NH, int kBits>
HWY_NOINLINE void AccumulateInt16(const BlockScores& w, const QuantRow<kBits>& f, const Rows& rows,
                                  int64_t p0, int64_t n, int dim, float* acc, int64_t next_n) {
  const int G = 1 << f.group_shift, P = 1 << f.plane_shift;
  const size_t rb = rows.row_bytes;
  const int64_t pairs = n / 2;  // whole row pairs; an odd last row pairs with a zero weight
  Int16Weights wq;
  alignas(32) int32_t wide[kBlock / 2][kHeadTile][8];  // pair i, head h: its dword × 8
  const uint8_t* const first = rows.value(p0);
  const uint8_t* const next_keys = rows.key(p0 + n);
  // The next block's keys, a whole number of cache lines per column step (no division inside).
  const size_t next_bytes = static_cast<size_t>(next_n) * rb;
  const size_t step_bytes = (next_bytes / (dim / 8) + 64) / 64 * 64;
  size_t next_from = 0;
  const __m128i mask = _mm_set1_epi8(static_cast<char>((1 << kBits) - 1));
  const __m128i middle = _mm_set1_epi8(static_cast<char>(1 << (kBits - 1)));
  for (int c = 0; c < dim; c += 8) {
    const int g = c >> f.group_shift, e = c & (G - 1);
    if (e == 0) {
      GroupWeightsInt16<kBits>(w, f, rows, p0, n, g, wq);
      for (int64_t i = 0; i < (n + 1) / 2; ++i)
        HWY_UNROLL(kHeadTile) for (int h = 0; h < NH; ++h)
          _mm256_store_si256(reinterpret_cast<__m256i*>(wide[i][h]), _mm256_set1_epi32(wq.pairs[i][h]));
    }
    if (next_from < next_bytes) {
      PrefetchBytes(next_keys, next_from, std::min(next_from + step_bytes, next_bytes));
      next_from += step_bytes;
    }
    // Columns c … c + 7 are 8 bytes of one plane: at `at` in every row, shifted right by `shift`.
    const size_t at = (static_cast<size_t>(g) << f.plane_shift) + (e & (P - 1));
    const __m128i shift = _mm_cvtsi32_si128(kBits * (e >> f.plane_shift));
    // The centred codes of 8 columns of rows r and r2, interleaved as 16-bit words.
    auto codes = [&](const uint8_t* r, const uint8_t* r2) HWY_ATTR {
      __m128i x = _mm_unpacklo_epi8(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(r + at)),
                                    _mm_loadl_epi64(reinterpret_cast<const __m128i*>(r2 + at)));
      if constexpr (kBits == 8) {
        x = _mm_xor_si128(x, middle);  // c − 128 as a signed byte
      } else {
        x = _mm_sub_epi8(_mm_and_si128(_mm_srl_epi16(x, shift), mask), middle);
      }
      return _mm256_cvtepi8_epi16(x);
    };
    __m256i a[NH];
    HWY_UNROLL(kHeadTile) for (int h = 0; h < NH; ++h) a[h] = _mm256_setzero_si256();
    // a_h += codes of the pair's rows × pair i's weights of head h.
    auto add_pair = [&](int64_t i, const uint8_t* r, const uint8_t* r2) HWY_ATTR {
      const __m256i z = codes(r, r2);
      HWY_UNROLL(kHeadTile) for (int h = 0; h < NH; ++h)
        a[h] = _mm256_add_epi32(a[h], _mm256_madd_epi16(z, _mm256_load_si256(reinterpret_cast<const __m256i*>(wide[i][h]))));
    };
    const uint8_t* r = first;
    for (int64_t i = 0; i < pairs; ++i, r += 2 * rb) add_pair(i, r, r + rb);
    if (n & 1) add_pair(pairs, r, r);  // the last row with itself: its pair's second weight is zero
    HWY_UNROLL(kHeadTile) for (int h = 0; h < NH; ++h) {
      float* out = acc + h * dim + c;
      const __m256 sum = _mm256_cvtepi32_ps(a[h]);
      _mm256_storeu_ps(out, _mm256_fmadd_ps(sum, _mm256_set1_ps(wq.d[h]),
                                            _mm256_add_ps(_mm256_loadu_ps(out), _mm256_set1_ps(wq.bias[h]))));
    }
  }
}
