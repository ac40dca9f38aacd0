// AVX-512 VNNI + VBMI kernels of the Int8 path, included by linear_q8.cpp only while Highway
// compiles its AVX3_DL target (inside that target's namespace). See linear_q8.cpp for the math.
// Highway 1.0.3's AVX3_DL target does not enable avx512vnni/avx512vbmi for the compiler, so
// the functions here add them (TF_VNNI); they only run after HaveVnni() checked the CPU.
// TF_VNNI names the whole target (Highway's string plus the two), not only the additions:
// clang lets an explicit target attribute replace the one Highway's pragma applies.
#define TF_VNNI __attribute__((target(HWY_TARGET_STR ",avx512vnni,avx512vbmi")))

// Row scales (or biases) as float, times a per-group factor when `mul` is given.
TF_VNNI HWY_INLINE void ScaleRow(const uint8_t* src, DType dt, int64_t count, const float* mul,
                                 float* dst) {
  for (int64_t i = 0; i < count; i += 16) {
    const int64_t left = std::min<int64_t>(16, count - i);
    const __mmask16 m = static_cast<__mmask16>((1u << left) - 1u);
    __m512 v;
    if (dt == DType::BF16) {
      const __m256i h = _mm256_maskz_loadu_epi16(m, src + 2 * i);
      v = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
    } else if (dt == DType::F16) {
      v = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, src + 2 * i));
    } else {
      v = _mm512_maskz_loadu_ps(m, src + 4 * i);
    }
    if (mul) v = _mm512_mul_ps(v, _mm512_maskz_loadu_ps(m, mul + i));
    _mm512_mask_storeu_ps(dst + i, m, v);
  }
}

// Σ_g β_g · Σx_g as 16 partial sums (added to the row's accumulators before the one reduction).
TF_VNNI HWY_INLINE __m512 BiasLanes(const float* b, const float* gs, int64_t count) {
  __m512 acc = _mm512_setzero_ps();
  for (int64_t i = 0; i < count; i += 16) {
    const __mmask16 m = static_cast<__mmask16>((1u << std::min<int64_t>(16, count - i)) - 1u);
    acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, b + i), _mm512_maskz_loadu_ps(m, gs + i), acc);
  }
  return acc;
}

// Codes 64·blk .. 64·blk + 63 of a row as bytes: `m` masks the load to the block's 8·b bytes
// (fewer for a final half block), so nothing past the row is touched.
template <int kBits>
TF_VNNI HWY_INLINE __m512i Codes64(const uint8_t* row, int64_t blk, __mmask64 m, __m512i spread,
                                   __m512i shifts, __m512i mask) {
  const __m512i raw = _mm512_maskz_loadu_epi8(m, row + blk * 8 * kBits);
  if constexpr (kBits == 8) return raw;
  const __m512i q = _mm512_multishift_epi64_epi8(shifts, _mm512_permutexvar_epi8(spread, raw));
  return _mm512_and_si512(q, mask);
}

// One row against kTT tokens. sd[t·sd_stride + g] = s_g · d_{t,g}. The row is walked in
// "units": a group of 64 or 128 codes (one int32 sum per lane, then one scale), or for g = 32 a
// 64-code block holding groups 2u (lanes 0-7) and 2u + 1 (lanes 8-15).
template <int kBits, int kTT, int kGroup>
TF_VNNI HWY_INLINE void RowTokensVnni(const uint8_t* row, const Q8Input& in, int64_t t0,
                                      const __m512i spread, const __m512i shifts, const float* sd,
                                      int64_t sd_stride, const float* b, float* out) {
  const __m512i mask = _mm512_set1_epi8(static_cast<char>((1u << kBits) - 1u));
  const __mmask64 full = kBits == 8 ? ~__mmask64{0} : (__mmask64{1} << (8 * kBits)) - 1;
  const __mmask64 half = (__mmask64{1} << (4 * kBits)) - 1;  // a final block of 32 codes
  const int64_t full_blocks = in.cols / 64;
  const int8_t* x0 = in.values + t0 * in.padded_cols;
  constexpr bool pairs = kGroup == 32;
  constexpr int64_t per_unit = pairs ? 1 : kGroup / 64;  // blocks per unit
  const int64_t units = pairs ? (in.cols + 63) / 64 : in.groups;

  // Adds unit u's contribution for every token to acc[0..kTT).
  auto unit = [&](int64_t u, __m512* acc) TF_VNNI __attribute__((always_inline)) {
    __m512i dot[kTT];
    #pragma GCC unroll 8
    for (int i = 0; i < kTT; ++i) dot[i] = _mm512_setzero_si512();
    for (int64_t blk = u * per_unit; blk < (u + 1) * per_unit; ++blk) {
      const __m512i c = Codes64<kBits>(row, blk, (!pairs || blk < full_blocks) ? full : half,
                                       spread, shifts, mask);
      #pragma GCC unroll 8
      for (int i = 0; i < kTT; ++i)
        dot[i] = _mm512_dpbusd_epi32(dot[i], c,
                                     _mm512_loadu_si512(x0 + (blk * kTT + i) * 64));
    }
    #pragma GCC unroll 8
    for (int i = 0; i < kTT; ++i) {
      const float* f = sd + i * sd_stride;
      const __m512 sv = pairs ? _mm512_mask_blend_ps(0xff00, _mm512_set1_ps(f[2 * u]),
                                                     _mm512_set1_ps(f[2 * u + 1]))
                              : _mm512_set1_ps(f[u]);
      acc[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot[i]), sv, acc[i]);
    }
  };

  // Two accumulator chains per token (even and odd units), so the multiply-add latency of one
  // unit overlaps the next; the same two for every tile size, so a token's sum is bit-identical
  // whichever tile it runs in (batched decode == each sequence alone).
  __m512 a0[kTT], a1[kTT];
  #pragma GCC unroll 8
  for (int i = 0; i < kTT; ++i) a0[i] = a1[i] = _mm512_setzero_ps();
  int64_t u = 0;
  for (; u + 2 <= units; u += 2) {
    unit(u, a0);
    unit(u + 1, a1);
  }
  for (; u < units; ++u) unit(u, a0);
  #pragma GCC unroll 8
  for (int i = 0; i < kTT; ++i) {
    const __m512 bias = BiasLanes(b, in.group_sums + (t0 + i) * in.groups, in.groups);
    out[i] = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0[i], a1[i]), bias));
  }
}

constexpr size_t kRowTileBytes = 128 * 1024;
constexpr int64_t kPrefetchRows = 4;
constexpr int64_t kStackGroups = 512;  // rows of up to 16K columns at g = 32 need no heap

// 2- and 4-bit rows: one 64-byte load holds 256 or 128 codes; plane m = (bytes >> b·m) & mask
// puts code P·j + m in byte j (P = 8 / b), and the activations were stored in that order
// (Q8QuantizeInput), so no byte permutes are needed. Each int32 lane then covers 4P consecutive
// codes of one group; lanes map to groups through a permute of the chunk's scales.
template <int kBits, int kTT, int kGroup>
TF_VNNI HWY_INLINE void RowTokensPlanes(const uint8_t* row, const Q8Input& in, int64_t t0,
                                        const float* sd, int64_t sd_stride, const float* b,
                                        float* out) {
  constexpr int kPlanes = 8 / kBits, kChunk = 64 * kPlanes;
  constexpr int kLaneCodes = 4 * kPlanes;
  const __m512i lane_group = _mm512_set_epi32(
      15 * kLaneCodes / kGroup, 14 * kLaneCodes / kGroup, 13 * kLaneCodes / kGroup,
      12 * kLaneCodes / kGroup, 11 * kLaneCodes / kGroup, 10 * kLaneCodes / kGroup,
      9 * kLaneCodes / kGroup, 8 * kLaneCodes / kGroup, 7 * kLaneCodes / kGroup,
      6 * kLaneCodes / kGroup, 5 * kLaneCodes / kGroup, 4 * kLaneCodes / kGroup,
      3 * kLaneCodes / kGroup, 2 * kLaneCodes / kGroup, kLaneCodes / kGroup, 0);
  const __m512i mask = _mm512_set1_epi8(static_cast<char>((1u << kBits) - 1u));
  const int64_t row_bytes = in.cols * kBits / 8;
  const int64_t chunks = (in.cols + kChunk - 1) / kChunk;
  const int8_t* x0 = in.values + t0 * in.padded_cols;

  auto chunk = [&](int64_t c, __m512* acc) TF_VNNI __attribute__((always_inline)) {
    const int64_t left = row_bytes - 64 * c;
    const __mmask64 m = left >= 64 ? ~__mmask64{0} : (__mmask64{1} << left) - 1;
    const __m512i raw = _mm512_maskz_loadu_epi8(m, row + 64 * c);
    __m512i dot[kTT];
    #pragma GCC unroll 8
    for (int i = 0; i < kTT; ++i) dot[i] = _mm512_setzero_si512();
#pragma GCC unroll 8
    for (int p = 0; p < kPlanes; ++p) {
      const __m512i codes = _mm512_and_si512(_mm512_srli_epi16(raw, kBits * p), mask);
      #pragma GCC unroll 8
      for (int i = 0; i < kTT; ++i)
        dot[i] = _mm512_dpbusd_epi32(
            dot[i], codes, _mm512_loadu_si512(x0 + ((c * kPlanes + p) * kTT + i) * 64));
    }
    const int64_t g0 = c * kChunk / kGroup;
    #pragma GCC unroll 8
    for (int i = 0; i < kTT; ++i) {
      const float* f = sd + i * sd_stride + g0;
      const __m512 sv = kChunk <= kGroup
                            ? _mm512_set1_ps(f[0])
                            : _mm512_permutexvar_ps(lane_group, _mm512_loadu_ps(f));
      acc[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot[i]), sv, acc[i]);
    }
  };

  // Two chains per token for every tile size, as in RowTokensVnni.
  __m512 a0[kTT], a1[kTT];
  #pragma GCC unroll 8
  for (int i = 0; i < kTT; ++i) a0[i] = a1[i] = _mm512_setzero_ps();
  int64_t c = 0;
  for (; c + 2 <= chunks; c += 2) {
    chunk(c, a0);
    chunk(c + 1, a1);
  }
  for (; c < chunks; ++c) chunk(c, a0);
  #pragma GCC unroll 8
  for (int i = 0; i < kTT; ++i) {
    const __m512 bias = BiasLanes(b, in.group_sums + (t0 + i) * in.groups, in.groups);
    out[i] = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0[i], a1[i]), bias));
  }
}

// One row against a tile of tt ≤ kTokenTile tokens (tt ≤ kTT), each block unpacked once for
// all of them.
template <int kBits, int kGroup, int kTT = kTokenTile>
TF_VNNI HWY_INLINE void RowTile(int tt, const uint8_t* row, const Q8Input& in, int64_t t0,
                                __m512i spread, __m512i shifts, const float* sd, int64_t stride,
                                const float* b, float* dots) {
  if constexpr (kTT > 1)
    if (tt < kTT)
      return RowTile<kBits, kGroup, kTT - 1>(tt, row, in, t0, spread, shifts, sd, stride, b, dots);
  if constexpr (kBits == 2 || kBits == 4)
    RowTokensPlanes<kBits, kTT, kGroup>(row, in, t0, sd, stride, b, dots);
  else
    RowTokensVnni<kBits, kTT, kGroup>(row, in, t0, spread, shifts, sd, stride, b, dots);
}

template <int kBits>
TF_VNNI void RowsVnniT(const WeightMatrix& w, const Q8Input& in, int64_t row_begin,
                       int64_t row_end, float* y, int64_t y_stride) {
  alignas(64) uint8_t sp[64], sh[64];
  for (int j = 0; j < 8; ++j)
    for (int t = 0; t < 8; ++t) {
      sp[8 * j + t] = static_cast<uint8_t>(kBits * j + t);  // qword j ← bytes of codes 8j..8j+7
      sh[8 * j + t] = static_cast<uint8_t>(kBits * t);      // byte t ← bits [b·t, b·t + 8)
    }
  const __m512i spread = _mm512_load_si512(sp), shifts = _mm512_load_si512(sh);
  const int64_t groups = in.groups;
  const int64_t stride = groups + 16;  // room for the g = 32 path's pair loads
  alignas(64) float stack[(kTokenTile + 1) * (kStackGroups + 16)];
  std::vector<float> heap;
  float* sd = stack;
  if (groups > kStackGroups) {
    heap.resize(static_cast<size_t>((kTokenTile + 1) * stride));
    sd = heap.data();
  }
  std::fill(sd, sd + (kTokenTile + 1) * stride, 0.0f);
  float* b = sd + kTokenTile * stride;
  const size_t row_bytes = w.row_bytes();
  const size_t srow = static_cast<size_t>(groups) * dtype_size(w.dtype);
  const int64_t tile_rows = std::max<int64_t>(1, static_cast<int64_t>(kRowTileBytes / row_bytes));
  for (int64_t r0 = row_begin; r0 < row_end; r0 += tile_rows) {
    const int64_t r1 = std::min(row_end, r0 + tile_rows);
    for (int64_t t0 = 0; t0 < in.tokens;) {
      const int64_t left = in.tokens - t0;
      const int tt = VnniTile(left);
      for (int64_t r = r0; r < r1; ++r) {
        const uint8_t* row = w.data + static_cast<size_t>(r) * row_bytes;
        // Decode streams each row once: fetch a few rows ahead (the hardware prefetchers stop
        // at every 4 KiB page of the mapped file).
        if (t0 == 0 && r + kPrefetchRows < row_end) {
          const uint8_t* ahead = row + kPrefetchRows * row_bytes;
          for (size_t off = 0; off < row_bytes; off += 64) _mm_prefetch(reinterpret_cast<const char*>(ahead + off), _MM_HINT_T0);
          _mm_prefetch(reinterpret_cast<const char*>(w.scales + (r + kPrefetchRows) * srow), _MM_HINT_T0);
          _mm_prefetch(reinterpret_cast<const char*>(w.biases + (r + kPrefetchRows) * srow), _MM_HINT_T0);
        }
        for (int i = 0; i < tt; ++i)
          ScaleRow(w.scales + r * srow, w.dtype, groups, in.deltas + (t0 + i) * groups,
                   sd + i * stride);
        ScaleRow(w.biases + r * srow, w.dtype, groups, nullptr, b);
        float dots[kTokenTile];
        switch (w.group_size) {
          case 32: RowTile<kBits, 32>(tt, row, in, t0, spread, shifts, sd, stride, b, dots); break;
          case 64: RowTile<kBits, 64>(tt, row, in, t0, spread, shifts, sd, stride, b, dots); break;
          default: RowTile<kBits, 128>(tt, row, in, t0, spread, shifts, sd, stride, b, dots); break;
        }
        for (int i = 0; i < tt; ++i) y[(t0 + i) * y_stride + r] = dots[i];
      }
      t0 += tt;
    }
  }
}

void RowsVnni(const WeightMatrix& w, const Q8Input& in, int64_t row_begin, int64_t row_end,
              float* y, int64_t y_stride) {
  with_affine_bits(w.bits, [&](auto bits) {
    RowsVnniT<decltype(bits)::value>(w, in, row_begin, row_end, y, y_stride);
  });
}
#undef TF_VNNI
