// Pieces of the 512-bit tile kernels shared by linear_q8_tiles.cpp (rows repacked per call) and
// linear_q8_rows16.cpp (rows interleaved once, at load), included inside their anonymous
// namespaces with TF_TILES_TARGET defined.

// What TF_TILES_TARGET asks of the CPU: AVX-512 F / BW / VL / VBMI and VNNI.
inline bool HaveTiles512Features() {
  const X86Features& cpu = x86_features();
  return cpu.avx512f && cpu.avx512bw && cpu.avx512vl && cpu.avx512vbmi && cpu.avx512vnni;
}

// In-place transpose of a 16 × 16 matrix of dwords held in 16 vectors.
TF_TILES_TARGET inline void Transpose16(__m512i r[16]) {
  __m512i t[16];
  #pragma GCC unroll 16
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_epi32(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_epi32(r[i], r[i + 1]);
  }
  #pragma GCC unroll 16
  for (int i = 0; i < 16; i += 4) {
    r[i] = _mm512_unpacklo_epi64(t[i], t[i + 2]);
    r[i + 1] = _mm512_unpackhi_epi64(t[i], t[i + 2]);
    r[i + 2] = _mm512_unpacklo_epi64(t[i + 1], t[i + 3]);
    r[i + 3] = _mm512_unpackhi_epi64(t[i + 1], t[i + 3]);
  }
  // Now vector i (of block b = i/4) holds, per 128-bit lane L, row-pairs… mix 128-bit lanes.
  #pragma GCC unroll 16
  for (int i = 0; i < 4; ++i) {
    t[i] = _mm512_shuffle_i32x4(r[i], r[i + 4], 0x88);       // lanes 0,2 of a | 0,2 of b
    t[i + 4] = _mm512_shuffle_i32x4(r[i], r[i + 4], 0xdd);   // lanes 1,3 | 1,3
    t[i + 8] = _mm512_shuffle_i32x4(r[i + 8], r[i + 12], 0x88);
    t[i + 12] = _mm512_shuffle_i32x4(r[i + 8], r[i + 12], 0xdd);
  }
  #pragma GCC unroll 16
  for (int i = 0; i < 4; ++i) {
    r[i] = _mm512_shuffle_i32x4(t[i], t[i + 8], 0x88);
    r[i + 8] = _mm512_shuffle_i32x4(t[i], t[i + 8], 0xdd);
    r[i + 4] = _mm512_shuffle_i32x4(t[i + 4], t[i + 12], 0x88);
    r[i + 12] = _mm512_shuffle_i32x4(t[i + 4], t[i + 12], 0xdd);
  }
}

// acc += codes · (the 4 bytes at x, broadcast to every lane): one vpdpbusd with an embedded
// broadcast, one fused instruction. In asm because GCC 12 compiles _mm512_dpbusd_epi32 on an
// array of accumulators with a broadcast and two register copies around each one (4
// instructions per product instead of 1).
TF_TILES_TARGET inline __m512i DotBroadcast(__m512i acc, __m512i codes, const int8_t* x) {
  using Bytes4 = int32_t __attribute__((may_alias));  // the asm reads 4 of the int8 bytes
  __asm__("vpdpbusd %2%{1to16%}, %1, %0"
          : "+v"(acc)
          : "v"(codes), "m"(*reinterpret_cast<const Bytes4*>(x)));
  return acc;
}

