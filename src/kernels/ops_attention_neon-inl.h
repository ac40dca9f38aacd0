// Int8 key scores for attend_group on ARM CPUs with the dot-product extension (sdot: Apple M1
// and later, Graviton 2+, Ampere Altra, Cortex-A76 and later), included by
// ops_attention_simd.cpp only while Highway compiles its NEON target (inside that target's
// namespace). The same math as the AVX-512 VNNI version (ops_attention_vnni-inl.h):
//   q·k = Σ_g s_g · (d_g · Σ_{e∈g} qi_e c_e) + β_g · Σ_{e∈g} q_e
// with the heads as lanes: the by-element form of sdot, vdotq_lane_s32(acc, q, k, j), adds to
// lane h the dot of the query's 4 bytes h with dword j of the key vector, so a key dword needs
// no broadcast and one instruction adds 4 elements for 4 heads. sdot multiplies signed bytes:
// 8-bit codes are centred (c − 128, one eor) and 128 · Σ qi added back per group; 4- and 2-bit
// codes fit as they are. Runs only where q8_dot128_supported(Q8Dot128::DotProd) (AttendHaveInt8).

#define TF_ATTN_DOT __attribute__((target("arch=armv8.2-a+dotprod")))
#undef TF_ATTN_INT8_ATTR
#define TF_ATTN_INT8_ATTR TF_ATTN_DOT  // ScoresInt8 (ops_attention_simd.cpp)

// A bf16 scale or bias of a row as float. (The helpers of the other targets are always_inline
// under Highway's NEON attributes, which GCC will not inline into a dotprod function.)
TF_ATTN_DOT inline float Bf16At(const uint8_t* row, size_t at) {
  uint16_t b;
  std::memcpy(&b, row + at, 2);
  return bf16_to_f32(b);
}

// acc[r][0 / 1] (heads 0–3 / 4–7) += the products of key dword J of u[r] with query dword `qd`.
template <int R, int J>
TF_ATTN_DOT HWY_INLINE void DotLane(const Int8Tile& t, int qd, const int8x8_t (&u)[R],
                                    int32x4_t (&acc)[R][2]) {
  const int8x16_t q0 = vld1q_s8(t.qt[qd][0]), q1 = vld1q_s8(t.qt[qd][4]);
  HWY_UNROLL(4) for (int r = 0; r < R; ++r) {
    acc[r][0] = vdotq_lane_s32(acc[r][0], q0, u[r], J);
    acc[r][1] = vdotq_lane_s32(acc[r][1], q1, u[r], J);
  }
}

// s[p + r][h] = scale · score of head h against key p0 + p + r, for R rows at once.
// prefetch_values: request the rows' values meanwhile.
template <int kBits, int R>
TF_ATTN_DOT HWY_INLINE void ScoreRowsInt8(const Int8Tile& t, const QuantRow<kBits>& f,
                                         const Rows& rows, int64_t p0, int64_t p, int dim,
                                         float scale, BlockScores& s, bool prefetch_values) {
  const int G = 1 << f.group_shift, P = 1 << f.plane_shift;
  const uint8_t* k[R];
  float32x4_t sc[R][2];
  HWY_UNROLL(4) for (int r = 0; r < R; ++r) {
    k[r] = rows.key(p0 + p + r);
    // PrefetchBytes written out: GCC cannot inline it into this +dotprod function.
    if (prefetch_values)
      for (size_t off = 0; off < rows.row_bytes; off += 64) __builtin_prefetch(rows.value(p0 + p + r) + off);
    sc[r][0] = sc[r][1] = vdupq_n_f32(0.0f);
  }
  for (int g = 0; g < dim / G; ++g) {
    int32x4_t acc[R][2];
    HWY_UNROLL(4) for (int r = 0; r < R; ++r) acc[r][0] = acc[r][1] = vdupq_n_s32(0);
    // 8 bytes of the group's P (P ≥ 8) at a time: two dwords of codes per plane.
    for (int i = 0; i < P; i += 8) {
      uint8x8_t kb[R];
      HWY_UNROLL(4) for (int r = 0; r < R; ++r) kb[r] = vld1_u8(k[r] + g * P + i);
      HWY_UNROLL(4) for (int plane = 0; plane < 8 / kBits; ++plane) {
        int8x8_t u[R];
        HWY_UNROLL(4) for (int r = 0; r < R; ++r) {
          if constexpr (kBits == 8) {
            u[r] = vreinterpret_s8_u8(veor_u8(kb[r], vdup_n_u8(0x80)));
          } else {
            const uint8x8_t shifted =
                vshl_u8(kb[r], vdup_n_s8(static_cast<int8_t>(-kBits * plane)));
            u[r] = vreinterpret_s8_u8(vand_u8(shifted, vdup_n_u8((1 << kBits) - 1)));
          }
        }
        const int qd = (g * G + i) / 4 + plane * (P / 4);  // the query dword of key dword 0
        DotLane<R, 0>(t, qd, u, acc);
        DotLane<R, 1>(t, qd + 1, u, acc);
      }
    }
    const float32x4_t d0 = vld1q_f32(t.d[g]), d1 = vld1q_f32(t.d[g] + 4);
    const float32x4_t sum0 = vld1q_f32(t.sum[g]), sum1 = vld1q_f32(t.sum[g] + 4);
    HWY_UNROLL(4) for (int r = 0; r < R; ++r) {
      if constexpr (kBits == 8) {  // Σ qi·c = Σ qi·(c − 128) + 128 · Σ qi
        acc[r][0] = vmlaq_n_s32(acc[r][0], vld1q_s32(t.qsum[g]), 128);
        acc[r][1] = vmlaq_n_s32(acc[r][1], vld1q_s32(t.qsum[g] + 4), 128);
      }
      const float sg = Bf16At(k[r], f.scales_at + 2 * g);
      const float bg = Bf16At(k[r], f.scales_at + 2 * (f.groups + g));
      sc[r][0] = vfmaq_n_f32(sc[r][0], vmulq_f32(d0, vcvtq_f32_s32(acc[r][0])), sg);
      sc[r][1] = vfmaq_n_f32(sc[r][1], vmulq_f32(d1, vcvtq_f32_s32(acc[r][1])), sg);
      sc[r][0] = vfmaq_n_f32(sc[r][0], sum0, bg);
      sc[r][1] = vfmaq_n_f32(sc[r][1], sum1, bg);
    }
  }
  HWY_UNROLL(4) for (int r = 0; r < R; ++r) {
    vst1q_f32(s[p + r], vmulq_n_f32(sc[r][0], scale));
    vst1q_f32(s[p + r] + 4, vmulq_n_f32(sc[r][1], scale));
  }
}
