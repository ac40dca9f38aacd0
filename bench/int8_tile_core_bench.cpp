// The compute core of the 256-bit Int8 kernels in two layouts, to decide whether a tile kernel
// pays on AVX2 / AVX-VNNI CPUs (bench/RESULTS.md, "256-bit tiles"): 2-bit codes already
// unpacked to bytes (64 rows × 2048, L2-resident) times int8 activations of 16 tokens, groups
// of 64, one thread.
//   rows:  32 codes of one row per vector against 32 bytes of each of 4 tokens — the 256-bit
//          row kernels' prefill loop (linear_q8_avx2-inl.h);
//   tiles: 4 codes of each of 8 rows per vector against one token's 4 bytes broadcast — the
//          AVX-512 tile kernel's layout (linear_q8_tiles.cpp) at 256 bits.
// Each with vpmaddubsw + vpmaddwd (AVX2) and VEX vpdpbusd (AVX-VNNI); same products, same
// per-group epilogue. Prints the best of 15 rounds in GMAC/s. Not a Google Benchmark program:
//   ./build/bench/int8_tile_core_bench
#if defined(__x86_64__)
#include <immintrin.h>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>
#include <algorithm>
#include "kernels/x86_features.h"
constexpr int K = 2048, R = 64, T = 16, G = 64, NG = K / G;
alignas(64) static uint8_t codes[R * K], tcodes[R * K];
alignas(64) static int8_t x[T * K];
static float sd[T * NG], y[T * R];
__attribute__((target("avx2,fma"), noinline)) void rows() {
  const __m256i ones = _mm256_set1_epi16(1);
  for (int r = 0; r < R; ++r)
    for (int t0 = 0; t0 < T; t0 += 4) {
      __m256 f[4];
      for (int i = 0; i < 4; ++i) f[i] = _mm256_setzero_ps();
      for (int g = 0; g < NG; ++g) {
        __m256i s16[4];
        #pragma GCC unroll 2
        for (int k = 0; k < G / 32; ++k) {
          const __m256i c = _mm256_load_si256((const __m256i*)(codes + r * K + g * G + 32 * k));
          #pragma GCC unroll 4
          for (int i = 0; i < 4; ++i) {
            const __m256i p = _mm256_maddubs_epi16(c, _mm256_load_si256((const __m256i*)(x + (t0 + i) * K + g * G + 32 * k)));
            s16[i] = k == 0 ? p : _mm256_add_epi16(s16[i], p);
          }
        }
        #pragma GCC unroll 4
        for (int i = 0; i < 4; ++i)
          f[i] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_madd_epi16(s16[i], ones)), _mm256_broadcast_ss(sd + (t0 + i) * NG + g), f[i]);
      }
      for (int i = 0; i < 4; ++i) {
        __m128 s = _mm_add_ps(_mm256_castps256_ps128(f[i]), _mm256_extractf128_ps(f[i], 1));
        s = _mm_hadd_ps(s, s); s = _mm_hadd_ps(s, s);
        y[(t0 + i) * R + r] = _mm_cvtss_f32(s);
      }
    }
}
__attribute__((target("avx2,fma"), noinline)) void tiles() {
  const __m256i ones = _mm256_set1_epi16(1);
  for (int r0 = 0; r0 < R; r0 += 8)
    for (int t0 = 0; t0 < T; t0 += 4) {
      __m256 f[4];
      for (int i = 0; i < 4; ++i) f[i] = _mm256_setzero_ps();
      const uint8_t* cb = tcodes + r0 * K;  // [quad][8 rows][4]
      for (int g = 0; g < NG; ++g) {
        __m256i s16[4];
        #pragma GCC unroll 16
        for (int q = 0; q < G / 4; ++q) {
          const __m256i c = _mm256_load_si256((const __m256i*)(cb + (g * G / 4 + q) * 32));
          #pragma GCC unroll 4
          for (int i = 0; i < 4; ++i) {
            int32_t xv; std::memcpy(&xv, x + (t0 + i) * K + g * G + 4 * q, 4);
            const __m256i p = _mm256_maddubs_epi16(c, _mm256_set1_epi32(xv));
            s16[i] = q == 0 ? p : _mm256_add_epi16(s16[i], p);
          }
        }
        #pragma GCC unroll 4
        for (int i = 0; i < 4; ++i)
          f[i] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_madd_epi16(s16[i], ones)), _mm256_broadcast_ss(sd + (t0 + i) * NG + g), f[i]);
      }
      for (int i = 0; i < 4; ++i) _mm256_storeu_ps(y + (t0 + i) * R + r0, f[i]);
    }
}

__attribute__((target("avx2,fma,avxvnni"), noinline)) void rows_vnni() {
  for (int r = 0; r < R; ++r)
    for (int t0 = 0; t0 < T; t0 += 4) {
      __m256 f[4];
      for (int i = 0; i < 4; ++i) f[i] = _mm256_setzero_ps();
      for (int g = 0; g < NG; ++g) {
        __m256i acc[4];
        for (int i = 0; i < 4; ++i) acc[i] = _mm256_setzero_si256();
        #pragma GCC unroll 2
        for (int k = 0; k < G / 32; ++k) {
          const __m256i c = _mm256_load_si256((const __m256i*)(codes + r * K + g * G + 32 * k));
          #pragma GCC unroll 4
          for (int i = 0; i < 4; ++i)
            acc[i] = _mm256_dpbusd_avx_epi32(acc[i], c, _mm256_load_si256((const __m256i*)(x + (t0 + i) * K + g * G + 32 * k)));
        }
        #pragma GCC unroll 4
        for (int i = 0; i < 4; ++i)
          f[i] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(acc[i]), _mm256_broadcast_ss(sd + (t0 + i) * NG + g), f[i]);
      }
      for (int i = 0; i < 4; ++i) {
        __m128 s = _mm_add_ps(_mm256_castps256_ps128(f[i]), _mm256_extractf128_ps(f[i], 1));
        s = _mm_hadd_ps(s, s); s = _mm_hadd_ps(s, s);
        y[(t0 + i) * R + r] = _mm_cvtss_f32(s);
      }
    }
}
__attribute__((target("avx2,fma,avxvnni"), noinline)) void tiles_vnni() {
  for (int r0 = 0; r0 < R; r0 += 8)
    for (int t0 = 0; t0 < T; t0 += 4) {
      __m256 f[4];
      for (int i = 0; i < 4; ++i) f[i] = _mm256_setzero_ps();
      const uint8_t* cb = tcodes + r0 * K;
      for (int g = 0; g < NG; ++g) {
        __m256i acc[4];
        for (int i = 0; i < 4; ++i) acc[i] = _mm256_setzero_si256();
        #pragma GCC unroll 16
        for (int q = 0; q < G / 4; ++q) {
          const __m256i c = _mm256_load_si256((const __m256i*)(cb + (g * G / 4 + q) * 32));
          #pragma GCC unroll 4
          for (int i = 0; i < 4; ++i) {
            int32_t xv; std::memcpy(&xv, x + (t0 + i) * K + g * G + 4 * q, 4);
            acc[i] = _mm256_dpbusd_avx_epi32(acc[i], c, _mm256_set1_epi32(xv));
          }
        }
        #pragma GCC unroll 4
        for (int i = 0; i < 4; ++i)
          f[i] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(acc[i]), _mm256_broadcast_ss(sd + (t0 + i) * NG + g), f[i]);
      }
      for (int i = 0; i < 4; ++i) _mm256_storeu_ps(y + (t0 + i) * R + r0, f[i]);
    }
}
int main() {
  const tf::simd::X86Features& cpu = tf::simd::x86_features();
  if (!(cpu.avx2 && cpu.fma && cpu.avx_vnni)) {
    std::printf("needs AVX2, FMA and AVX-VNNI\n");
    return 0;
  }
  std::mt19937 rng(1);
  for (auto& c : codes) c = rng() & 3;
  for (auto& v : x) v = int8_t(int(rng() % 255) - 127);
  for (auto& v : sd) v = 1e-3f;
  for (int r0 = 0; r0 < R; r0 += 8) for (int q = 0; q < K / 4; ++q) for (int r = 0; r < 8; ++r) for (int j = 0; j < 4; ++j)
    tcodes[r0 * K + (q * 8 + r) * 4 + j] = codes[(r0 + r) * K + 4 * q + j];
  double best[4] = {0, 0, 0, 0};
  for (int round = 0; round < 15; ++round)
    for (int which = 0; which < 4; ++which) {
      auto t = std::chrono::steady_clock::now();
      const int reps = 400;
      void (*fn[4])() = {rows, tiles, rows_vnni, tiles_vnni};
      for (int i = 0; i < reps; ++i) fn[which]();
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
      best[which] = std::max(best[which], double(R) * K * T * reps / s / 1e9);
    }
  const char* names[] = {"rows maddubs", "tiles maddubs", "rows avx-vnni", "tiles avx-vnni"};
  for (int w = 0; w < 4; ++w) printf("%-15s best %.1f GMAC/s\n", names[w], best[w]);
  printf("y[5]=%g\n", y[5]);
}
#else
#include <cstdio>
int main() { std::printf("x86-64 only\n"); }
#endif
