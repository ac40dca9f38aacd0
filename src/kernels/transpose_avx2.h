// An 8 × 8 transpose of dwords in 256-bit registers, shared by the 256-bit x86 Int8 kernels
// (the tile layout's repack in linear_q8_avx2-inl.h and linear_q8_tiles_avx2.cpp). Include
// only under __x86_64__, after <immintrin.h>. Compiled for AVX2 alone, so it inlines into any
// function whose target includes AVX2.
#pragma once

namespace tf::simd {

// In-place: vector i, dword j  →  vector j, dword i. Every loop unrolled, so the arrays stay in
// registers.
__attribute__((target("avx2"))) inline __attribute__((always_inline)) void transpose8_dwords(__m256i r[8]) {
  __m256i t[8];
#pragma GCC unroll 8
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm256_unpacklo_epi32(r[i], r[i + 1]);
    t[i + 1] = _mm256_unpackhi_epi32(r[i], r[i + 1]);
  }
  __m256i u[8];
#pragma GCC unroll 8
  for (int i = 0; i < 8; i += 4) {
    u[i] = _mm256_unpacklo_epi64(t[i], t[i + 2]);
    u[i + 1] = _mm256_unpackhi_epi64(t[i], t[i + 2]);
    u[i + 2] = _mm256_unpacklo_epi64(t[i + 1], t[i + 3]);
    u[i + 3] = _mm256_unpackhi_epi64(t[i + 1], t[i + 3]);
  }
#pragma GCC unroll 8
  for (int i = 0; i < 4; ++i) {
    r[i] = _mm256_permute2x128_si256(u[i], u[i + 4], 0x20);
    r[i + 4] = _mm256_permute2x128_si256(u[i], u[i + 4], 0x31);
  }
}

}  // namespace tf::simd
