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

// acc + Σ₄ u·q per int32 lane (u unsigned bytes, q signed), as vpdpbusd in its EVEX encoding
// (AVX-512 VNNI + VL). Not _mm256_dpbusd_epi32: Highway 1.0.3's AVX3_DL target string enables
// "avxvnni" — the separate 256-bit AVX-VNNI of Alder Lake and Zen 5 — so GCC encodes that
// intrinsic with VEX, an illegal instruction on AVX-512 VNNI CPUs without AVX-VNNI (Ice Lake,
// Zen 4). scripts/check-vex-vnni.sh keeps such encodings out of the AVX3_DL code.
TF_ATTN_VNNI HWY_INLINE __m256i DpbusdEvex(__m256i acc, __m256i u, __m256i q) {
  asm("%{evex%} vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(u), "v"(q));
  return acc;
}

constexpr int kInt8MaxDim = 256;  // head sizes the tiles hold (Qwen3.5: 256)
constexpr int kInt8MaxTiles = 16;  // head tiles (128 heads: a prefill query block of 16 tokens
                                   // × 8 heads); more heads run the float kernel

// The query of one tile of kHeadTile heads (heads past the tile's count are zero).
struct Int8Tile {
  alignas(32) int8_t qt[kInt8MaxDim / 4][kHeadTile][4];
  float d[kInt8MaxDim / 32][kHeadTile];    // per group and head
  float sum[kInt8MaxDim / 32][kHeadTile];  // per group and head
};

inline void PrepareInt8Tile(const float* q, int nh, int dim, int group, Int8Tile& t) {
  int8_t qi[kInt8MaxDim];
  for (int h = 0; h < kHeadTile; ++h) {
    for (int g = 0; g < dim / group; ++g) {
      if (h < nh) {
        quantize_query_group(q + h * dim + g * group, group, qi + g * group, &t.d[g][h],
                             &t.sum[g][h]);
      } else {
        std::fill(qi + g * group, qi + (g + 1) * group, int8_t{0});
        t.d[g][h] = t.sum[g][h] = 0.0f;
      }
    }
    for (int e = 0; e < dim; ++e) t.qt[e / 4][h][e % 4] = qi[e];
  }
}

// Quantized rows whose keys are scored with Int8 dots: the tiles of the call's heads.
template <int kBits>
struct QuantRowInt8 : QuantRow<kBits> {
  const Int8Tile* tiles;
};

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
  HWY_UNROLL(4) for (int r = 0; r < R; ++r) {
    k[r] = rows.key(p0 + p + r);
    if (prefetch_values) PrefetchBytes(rows.value(p0 + p + r), 0, rows.row_bytes);
    sc[r] = _mm256_setzero_ps();
  }
  for (int g = 0; g < dim / G; ++g) {
    __m256i acc[R][2];
    HWY_UNROLL(4) for (int r = 0; r < R; ++r) acc[r][0] = acc[r][1] = _mm256_setzero_si256();
    // Bytes i and i + 4 of the group's P bytes (P ≥ 8): 4 codes of each plane each, into the
    // two sets of sums.
    for (int i = 0; i < P; i += 8) {
      DwordInt8<kBits, R>(t, k, g * P + i, (g * G + i) / 4, P / 4, acc, 0);
      DwordInt8<kBits, R>(t, k, g * P + i + 4, (g * G + i + 4) / 4, P / 4, acc, 1);
    }
    const __m256 d = _mm256_loadu_ps(t.d[g]), sum = _mm256_loadu_ps(t.sum[g]);
    HWY_UNROLL(4) for (int r = 0; r < R; ++r) {
      const __m256 dot = _mm256_cvtepi32_ps(_mm256_add_epi32(acc[r][0], acc[r][1]));
      sc[r] = _mm256_fmadd_ps(_mm256_mul_ps(d, dot), _mm256_set1_ps(f.Scale(k[r], g)), sc[r]);
      sc[r] = _mm256_fmadd_ps(sum, _mm256_set1_ps(f.Bias(k[r], g)), sc[r]);
    }
  }
  HWY_UNROLL(4) for (int r = 0; r < R; ++r) _mm256_storeu_ps(s[p + r], _mm256_mul_ps(sc[r], _mm256_set1_ps(scale)));
}

// Not inlined into Block: a caller without the VNNI target attribute cannot inline it.
template <int kBits>
TF_ATTN_VNNI HWY_NOINLINE void ScoresInt8(const Int8Tile& t, const QuantRow<kBits>& f,
                                        const Rows& rows, int64_t p0, int64_t n, int dim,
                                        float scale, BlockScores& s, bool prefetch_values) {
  int64_t p = 0;
  for (; p + 4 <= n; p += 4) ScoreRowsInt8<kBits, 4>(t, f, rows, p0, p, dim, scale, s, prefetch_values);
  for (; p < n; ++p) ScoreRowsInt8<kBits, 1>(t, f, rows, p0, p, dim, scale, s, prefetch_values);
}
