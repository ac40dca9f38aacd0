// The query side of Int8 key scores, shared by the targets that have them (AVX-512 VNNI:
// ops_attention_vnni-inl.h, AVX2: ops_attention_avx2-inl.h, NEON with dot products:
// ops_attention_neon-inl.h); included by
// ops_attention_simd.cpp inside the target's namespace. The query of each head is quantized per
// group of G elements (quantize_query_group, kernels/kv_quant.h: qi int8, scale d, float sum),
// and its dwords are laid out heads-as-lanes: dword i of head h = qi_h[4i .. 4i + 3].

constexpr int kInt8MaxDim = 256;  // head sizes the tiles hold (Qwen3.5: 256)
constexpr int kInt8MaxTiles = 16;  // head tiles (128 heads: a prefill query block of 16 tokens
                                   // × 8 heads); more heads run the float kernel

// The query of one tile of kHeadTile heads (heads past the tile's count are zero).
struct Int8Tile {
  alignas(32) int8_t qt[kInt8MaxDim / 4][kHeadTile][4];
  float d[kInt8MaxDim / 32][kHeadTile];    // per group and head
  float sum[kInt8MaxDim / 32][kHeadTile];  // per group and head
  int32_t qsum[kInt8MaxDim / 32][kHeadTile];  // Σ qi per group and head (centred 8-bit codes)
#if HWY_TARGET == HWY_AVX2
  // 8-bit keys on AVX2 (ops_attention_avx2-inl.h): qi = 16 · high + low, high = qi >> 4 in
  // [−8, 7], low = qi & 15, laid out as qt.
  alignas(32) int8_t qt_high[kInt8MaxDim / 4][kHeadTile][4];
  alignas(32) int8_t qt_low[kInt8MaxDim / 4][kHeadTile][4];
#endif
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
      t.qsum[g][h] = 0;
      for (int e = 0; e < group; ++e) t.qsum[g][h] += qi[g * group + e];
    }
    for (int e = 0; e < dim; ++e) t.qt[e / 4][h][e % 4] = qi[e];
#if HWY_TARGET == HWY_AVX2
    for (int e = 0; e < dim; ++e) {
      t.qt_high[e / 4][h][e % 4] = static_cast<int8_t>(qi[e] >> 4);  // arithmetic: floor
      t.qt_low[e / 4][h][e % 4] = static_cast<int8_t>(qi[e] & 15);
    }
#endif
  }
}

// Quantized rows whose keys are scored with Int8 dots: the tiles of the call's heads.
template <int kBits>
struct QuantRowInt8 : QuantRow<kBits> {
  const Int8Tile* tiles;
};

#if HWY_ARCH_X86
// The parts of a 256-bit x86 ScoreRowsInt8 (AVX-512 VNNI, AVX2) around its integer dots, as
// inline functions of the target's base attributes (inlined into the VNNI-attributed callers).

// The key rows p0 + p … p0 + p + R − 1, their values requested meanwhile if asked; sc zeroed.
template <int R>
HWY_INLINE void StartScoreRows(const Rows& rows, int64_t first, bool prefetch_values,
                               const uint8_t* (&k)[R], __m256 (&sc)[R]) {
  HWY_UNROLL(4) for (int r = 0; r < R; ++r) {
    k[r] = rows.key(first + r);
    if (prefetch_values) PrefetchBytes(rows.value(first + r), 0, rows.row_bytes);
    sc[r] = _mm256_setzero_ps();
  }
}

// sc[r] += s_g · d_g · dot[r] + β_g · Σq (per head lane) for group g of row r.
template <int kBits, int R>
HWY_INLINE void AddGroupScores(const Int8Tile& t, const QuantRow<kBits>& f, int g,
                               const uint8_t* const (&k)[R], const __m256i (&dot)[R], __m256 (&sc)[R]) {
  const __m256 d = _mm256_loadu_ps(t.d[g]), sum = _mm256_loadu_ps(t.sum[g]);
  HWY_UNROLL(4) for (int r = 0; r < R; ++r) {
    sc[r] = _mm256_fmadd_ps(_mm256_mul_ps(d, _mm256_cvtepi32_ps(dot[r])), _mm256_set1_ps(f.Scale(k[r], g)), sc[r]);
    sc[r] = _mm256_fmadd_ps(sum, _mm256_set1_ps(f.Bias(k[r], g)), sc[r]);
  }
}

// s[p + r] = scale · sc[r].
template <int R>
HWY_INLINE void StoreScoreRows(const __m256 (&sc)[R], float scale, int64_t p, BlockScores& s) {
  HWY_UNROLL(4) for (int r = 0; r < R; ++r) _mm256_storeu_ps(s[p + r], _mm256_mul_ps(sc[r], _mm256_set1_ps(scale)));
}

// The value side with int16 weights (AVX-512 VNNI: ops_attention_vnni-inl.h, AVX2:
// ops_attention_avx2-inl.h; reference int16_weighted_values, kernels/kv_quant.h).

// A block's int16 weights for one group: dword i of head h = (wq[2i][h], wq[2i + 1][h]).
struct Int16Weights {
  alignas(64) int32_t pairs[kBlock / 2][kHeadTile];
  float d[kHeadTile];
  float bias[kHeadTile];
};

template <int kBits>
HWY_INLINE void GroupWeightsInt16(const BlockScores& w, const QuantRow<kBits>& f, const Rows& rows,
                                  int64_t p0, int64_t n, int g, Int16Weights& out) {
  HWY_ALIGN float ws[kBlock][kHeadTile];
  __m256 amax = _mm256_setzero_ps(), bias = _mm256_setzero_ps(), sum = _mm256_setzero_ps();
  const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  for (int64_t p = 0; p < n; ++p) {
    const uint8_t* v = rows.value(p0 + p);
    const __m256 wv = _mm256_loadu_ps(w[p]);
    const __m256 x = _mm256_mul_ps(wv, _mm256_set1_ps(f.Scale(v, g)));
    _mm256_store_ps(ws[p], x);
    amax = _mm256_max_ps(amax, _mm256_and_ps(x, abs_mask));
    bias = _mm256_fmadd_ps(wv, _mm256_set1_ps(f.Bias(v, g)), bias);
    sum = _mm256_add_ps(sum, x);
  }
  bias = _mm256_fmadd_ps(sum, _mm256_set1_ps(1 << (kBits - 1)), bias);  // the codes are centred
  // Heads whose weights are all zero get d = 0 and zero weights (no division by zero).
  const __m256 d = _mm256_mul_ps(amax, _mm256_set1_ps(1.0f / 32767));
  const __m256 inv = _mm256_and_ps(_mm256_div_ps(_mm256_set1_ps(1.0f), d),
                                   _mm256_cmp_ps(amax, _mm256_setzero_ps(), _CMP_GT_OQ));
  _mm256_storeu_ps(out.d, d);
  _mm256_storeu_ps(out.bias, bias);
  for (int64_t p = 0; p < n; p += 2) {
    const __m256i lo = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_load_ps(ws[p]), inv));
    const __m256i hi = p + 1 < n ? _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_load_ps(ws[p + 1]), inv))
                                 : _mm256_setzero_si256();
    _mm256_store_si256(reinterpret_cast<__m256i*>(out.pairs[p / 2]),
                       _mm256_blend_epi16(lo, _mm256_slli_epi32(hi, 16), 0xAA));
  }
}

#endif
