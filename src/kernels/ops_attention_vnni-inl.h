// Int8 key scores for attend_group on AVX-512 VNNI, included by ops_attention_simd.cpp only
// while Highway compiles its AVX3_DL target (inside that target's namespace). Why: at a long
// context the float kernel is bound by its multiply-adds, not by memory (bench/RESULTS.md), and
// a quantized key row is bytes already; this is llama.cpp's choice for quantized K on CPUs too
// (the query becomes q8_0 and the dot is an integer one).
//
// The query of each head is quantized per group of G elements (quantize_query_group,
// kernels/kv_quant.h: qi int8, scale d, float sum), and
//   q·k = Σ_g s_g · (d_g · Σ_{e∈g} qi_e c_e) + β_g · Σ_{e∈g} q_e
// with the key's codes c, scale s and bias β. The heads of a tile are the lanes: dword i of
// lane h of a query vector holds qi_h[4i .. 4i + 3]; a key dword (4 codes of a plane, masked
// out of the packed bytes) is broadcast to every lane, and one vpdpbusd (unsigned codes × signed
// query bytes, 4 products summed into each int32 lane) adds 4 elements for all 8 heads. The
// score of a row comes out as a vector over heads, in the key-major BlockScores layout, with no
// horizontal sums. Highway 1.0.3's AVX3_DL target does not enable avx512vnni for the compiler,
// so the functions add it (as linear_q8_vnni-inl.h); they run only after AttendHaveVnni().

#define TF_ATTN_VNNI __attribute__((target(HWY_TARGET_STR ",avx512vnni")))
#undef TF_ATTN_INT8_ATTR
#define TF_ATTN_INT8_ATTR TF_ATTN_VNNI  // ScoresInt8 (ops_attention_simd.cpp)

// acc + Σ₄ u·q per int32 lane (u unsigned bytes, q signed), as vpdpbusd in its EVEX encoding
// (AVX-512 VNNI + VL). Not _mm256_dpbusd_epi32: Highway 1.0.3's AVX3_DL target string enables
// "avxvnni" — the separate 256-bit AVX-VNNI of Alder Lake and Zen 5 — so GCC encodes that
// intrinsic with VEX, an illegal instruction on AVX-512 VNNI CPUs without AVX-VNNI (Ice Lake,
// Zen 4). scripts/check-vex-vnni.sh keeps such encodings out of the AVX3_DL code.
TF_ATTN_VNNI HWY_INLINE __m256i DpbusdEvex(__m256i acc, __m256i u, __m256i q) {
  asm("%{evex%} vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(u), "v"(q));
  return acc;
}

// acc[r][a] += the products of 4 codes of each plane at byte `at` of row r with the query
// dwords they meet: plane j's are dword q_at + j·plane_dwords of the tile.
template <int kBits, int R>
TF_ATTN_VNNI HWY_INLINE void DwordInt8(const Int8Tile& t, const uint8_t* const (&k)[R], int at,
                                       int q_at, int plane_dwords, __m256i (&acc)[R][2], int a) {
  const __m256i mask = _mm256_set1_epi8(static_cast<char>((1 << kBits) - 1));
  __m256i kb[R];
  HWY_UNROLL(4) for (int r = 0; r < R; ++r) {
    uint32_t word;
    std::memcpy(&word, k[r] + at, 4);
    kb[r] = _mm256_set1_epi32(static_cast<int>(word));
  }
  HWY_UNROLL(4) for (int plane = 0; plane < 8 / kBits; ++plane) {
    const __m256i qv =
        _mm256_load_si256(reinterpret_cast<const __m256i*>(t.qt[q_at + plane * plane_dwords]));
    HWY_UNROLL(4) for (int r = 0; r < R; ++r) {
      __m256i u = kb[r];
      if constexpr (kBits < 8) u = _mm256_and_si256(_mm256_srli_epi32(u, kBits * plane), mask);
      acc[r][a] = DpbusdEvex(acc[r][a], u, qv);
    }
  }
}

// s[p + r][h] = scale · score of head h against key p0 + p + r, for R rows at once (R·2 int32
// sums in flight hide vpdpbusd's latency). prefetch_values: request the rows' values meanwhile.
template <int kBits, int R>
TF_ATTN_VNNI HWY_INLINE void ScoreRowsInt8(const Int8Tile& t, const QuantRow<kBits>& f,
                                           const Rows& rows, int64_t p0, int64_t p, int dim,
                                           float scale, BlockScores& s, bool prefetch_values) {
  const int G = 1 << f.group_shift, P = 1 << f.plane_shift;
  const uint8_t* k[R];
  __m256 sc[R];
  StartScoreRows<R>(rows, p0 + p, prefetch_values, k, sc);
  for (int g = 0; g < dim / G; ++g) {
    __m256i acc[R][2];
    HWY_UNROLL(4) for (int r = 0; r < R; ++r) acc[r][0] = acc[r][1] = _mm256_setzero_si256();
    // Bytes i and i + 4 of the group's P bytes (P ≥ 8): 4 codes of each plane each, into the
    // two sets of sums.
    for (int i = 0; i < P; i += 8) {
      DwordInt8<kBits, R>(t, k, g * P + i, (g * G + i) / 4, P / 4, acc, 0);
      DwordInt8<kBits, R>(t, k, g * P + i + 4, (g * G + i + 4) / 4, P / 4, acc, 1);
    }
    __m256i dot[R];
    HWY_UNROLL(4) for (int r = 0; r < R; ++r) dot[r] = _mm256_add_epi32(acc[r][0], acc[r][1]);
    AddGroupScores<kBits, R>(t, f, g, k, dot, sc);
  }
  StoreScoreRows<R>(sc, scale, p, s);
}


// Weighted values with Int16 dots (the value side of a block, for the same quantized rows).
// Σ_p w_p (s_p c_p + β_p) = Σ_p (w_p s_p) c_p + Σ_p w_p β_p per group (GroupWeights); here the
// weights ws = w·s of a block, group and head are rounded to int16 on the scale
// d_h = max_p |ws_p,h| / 32767 (error at most d_h / 2, 1.5e-5 of the block's largest weight:
// far below the codes' own step), two rows' weights share a dword, and the codes of rows p and
// p + 1 are interleaved as 16-bit words, so one vpdpwssd adds two rows × 16 columns for one head
// with exact integer sums (|Σ| ≤ 32 rows · 32767 · 255 < 2³¹). The float path spends 16 FMAs and
// 8 broadcasts per row and 32 columns; this one 8 vpdpwssd (broadcast from memory) and 2.5
// widening operations.

// acc + Σ₂ codes·w per int32 lane, w one dword broadcast from memory. Written out so the
// accumulator is updated in place: with the intrinsic GCC copied all 16 accumulators every
// iteration (attention_bench: 1.2× slower).
TF_ATTN_VNNI HWY_INLINE __m512i DpwssdBroadcast(__m512i acc, __m512i codes, const int32_t* w) {
  asm("vpdpwssd %2%{1to16%}, %1, %0" : "+v"(acc) : "v"(codes), "m"(*w));
  return acc;
}

// The codes of elements [c, c + 32) of a row as 32 bytes (c a multiple of 32; planes of P ≥ 16
// bytes, QuantFormat).
template <int kBits>
TF_ATTN_VNNI HWY_INLINE __m256i Codes32(const QuantRow<kBits>& f, const uint8_t* row, int c) {
  const int P = 1 << f.plane_shift;
  const int g = c >> f.group_shift, e = c & ((1 << f.group_shift) - 1);
  const uint8_t* plane = row + (g << f.plane_shift);
  if constexpr (kBits == 8) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(plane + e));
  } else {
    const __m256i mask = _mm256_set1_epi8(static_cast<char>((1 << kBits) - 1));
    if (P >= 32) {
      const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(plane + (e & (P - 1))));
      return _mm256_and_si256(_mm256_srli_epi16(b, kBits * (e >> f.plane_shift)), mask);
    }
    // 16-byte planes: elements e … e + 15 and e + 16 … e + 31 are the same bytes, two planes.
    const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(plane));
    const int shift = kBits * (e >> f.plane_shift);
    const __m256i both = _mm256_set_m128i(_mm_srli_epi16(b, shift + kBits), _mm_srli_epi16(b, shift));
    return _mm256_and_si256(both, mask);
  }
}

// The same codes minus the middle code m = 2^(b−1), as signed bytes: the weights' rounding
// error then multiplies |c − m| ≤ m, not c ≤ 2m (a third of the error on random rows); the
// bias adds m · Σ_p ws_p back.
template <int kBits>
TF_ATTN_VNNI HWY_INLINE __m256i CentredCodes32(const QuantRow<kBits>& f, const uint8_t* row, int c) {
  const __m256i codes = Codes32<kBits>(f, row, c);
  if constexpr (kBits == 8) return _mm256_xor_si256(codes, _mm256_set1_epi8(static_cast<char>(0x80)));
  return _mm256_sub_epi8(codes, _mm256_set1_epi8(1 << (kBits - 1)));
}

// acc_h[dim] += Σ_{p<n} w[p][h] · v_{p0+p} for NH heads; meanwhile the next block's key rows
// (next_n from p0 + n) are requested, a slice per column step, as Accumulate does.
template <int NH, int kBits>
TF_ATTN_VNNI HWY_NOINLINE void AccumulateInt16(const BlockScores& w, const QuantRow<kBits>& f,
                                               const Rows& rows, int64_t p0, int64_t n, int dim,
                                               float* acc, int64_t next_n) {
  const int G = 1 << f.group_shift;
  const size_t rb = rows.row_bytes;
  // lo holds columns 8L … 8L + 3 in 128-bit lane L, hi 8L + 4 … 8L + 7 (in-lane unpacks):
  // these indices put columns 0 … 15 and 16 … 31 back in order.
  const __m512i order0 = _mm512_setr_epi32(0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23);
  const __m512i order1 = _mm512_setr_epi32(8, 9, 10, 11, 24, 25, 26, 27, 12, 13, 14, 15, 28, 29, 30, 31);
  Int16Weights wq;
  for (int c = 0; c < dim; c += 32) {
    if (c % G == 0) GroupWeightsInt16<kBits>(w, f, rows, p0, n, c >> f.group_shift, wq);
    const size_t from = rb * c / dim, to = c + 32 >= dim ? rb : rb * (c + 32) / dim;
    __m512i a[NH][2];
    HWY_UNROLL(kHeadTile) for (int h = 0; h < NH; ++h) a[h][0] = a[h][1] = _mm512_setzero_si512();
    for (int64_t p = 0; p < n; p += 2) {
      // An odd last row pairs with itself under a zero weight.
      const int64_t q = p + 1 < n ? p + 1 : p;
      if (p < next_n) {
        PrefetchBytes(rows.key(p0 + n + p), from, to);
        if (p + 1 < next_n) PrefetchBytes(rows.key(p0 + n + p + 1), from, to);
      }
      const __m512i zp = _mm512_cvtepi8_epi16(CentredCodes32<kBits>(f, rows.value(p0 + p), c));
      const __m512i zq = _mm512_cvtepi8_epi16(CentredCodes32<kBits>(f, rows.value(p0 + q), c));
      const __m512i lo = _mm512_unpacklo_epi16(zp, zq), hi = _mm512_unpackhi_epi16(zp, zq);
      const int32_t* wp = wq.pairs[p / 2];
      HWY_UNROLL(kHeadTile) for (int h = 0; h < NH; ++h) {
        a[h][0] = DpwssdBroadcast(a[h][0], lo, wp + h);
        a[h][1] = DpwssdBroadcast(a[h][1], hi, wp + h);
      }
    }
    HWY_UNROLL(kHeadTile) for (int h = 0; h < NH; ++h) {
      float* out = acc + h * dim + c;
      const __m512 d = _mm512_set1_ps(wq.d[h]), bias = _mm512_set1_ps(wq.bias[h]);
      const __m512 s0 = _mm512_cvtepi32_ps(_mm512_permutex2var_epi32(a[h][0], order0, a[h][1]));
      const __m512 s1 = _mm512_cvtepi32_ps(_mm512_permutex2var_epi32(a[h][0], order1, a[h][1]));
      _mm512_storeu_ps(out, _mm512_fmadd_ps(s0, d, _mm512_add_ps(_mm512_loadu_ps(out), bias)));
      _mm512_storeu_ps(out + 16, _mm512_fmadd_ps(s1, d, _mm512_add_ps(_mm512_loadu_ps(out + 16), bias)));
    }
  }
}
