// Every Int8 row-kernel variant this CPU can run, called directly (not through dispatch), against
// reference::matmul_q8: the 256-bit x86 kernels with each way of forming byte dot products
// (vpmaddubsw, AVX-VNNI and AVX-512 VNNI vpdpbusd) and the ARM ones (smull + sadalp, sdot).
// Dispatch picks one variant per CPU, so for_each_target alone would leave the others
// unchecked; their inputs are built here as linear.cpp builds them (rounded per token, in the
// 32-code block order, float group sums).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "kernels/affine_test_matrix.h"
#include "kernels/guard_page.h"
#include "kernels/linear.h"
#include "kernels/linear_internal.h"

namespace tf {
namespace {

struct Variant {
  std::string name;
  bool supported;
  void (*rows)(const WeightMatrix&, const simd::Q8Input&, int64_t, int64_t, float*, int64_t);
};

std::vector<Variant> variants() {
  using simd::Q8Dot128;
  using simd::Q8Dot256;
  return {
      {"AVX2 vpmaddubsw", simd::q8_dot256_supported(Q8Dot256::Maddubs),
       [](const WeightMatrix& w, const simd::Q8Input& in, int64_t b, int64_t e, float* y, int64_t s) {
         simd::q8_avx2_rows(Q8Dot256::Maddubs, w, in, b, e, y, s);
       }},
      {"AVX-VNNI vpdpbusd", simd::q8_dot256_supported(Q8Dot256::AvxVnni),
       [](const WeightMatrix& w, const simd::Q8Input& in, int64_t b, int64_t e, float* y, int64_t s) {
         simd::q8_avx2_rows(Q8Dot256::AvxVnni, w, in, b, e, y, s);
       }},
      {"AVX-512 VNNI vpdpbusd ymm", simd::q8_dot256_supported(Q8Dot256::Avx512Vnni),
       [](const WeightMatrix& w, const simd::Q8Input& in, int64_t b, int64_t e, float* y, int64_t s) {
         simd::q8_avx2_rows(Q8Dot256::Avx512Vnni, w, in, b, e, y, s);
       }},
      {"NEON smull", simd::q8_dot128_supported(Q8Dot128::Widening),
       [](const WeightMatrix& w, const simd::Q8Input& in, int64_t b, int64_t e, float* y, int64_t s) {
         simd::q8_neon_rows(Q8Dot128::Widening, w, in, b, e, y, s);
       }},
      {"NEON sdot", simd::q8_dot128_supported(Q8Dot128::DotProd),
       [](const WeightMatrix& w, const simd::Q8Input& in, int64_t b, int64_t e, float* y, int64_t s) {
         simd::q8_neon_rows(Q8Dot128::DotProd, w, in, b, e, y, s);
       }},
  };
}

// Random activations of `tokens` tokens, rounded as linear.cpp rounds them for these row
// kernels (per token, in the 32-code block order) beside their float group sums.
struct RoundedInput {
  std::vector<float> x, d, gs;
  std::vector<int8_t> xq;
  simd::Q8Input in;
};

RoundedInput round_input(int bits, int group, int64_t cols, int64_t tokens, uint32_t seed) {
  RoundedInput r;
  std::mt19937 rng(seed);
  std::normal_distribution<float> n(0.0f, 1.0f);
  r.x.resize(static_cast<size_t>(tokens * cols));
  for (auto& e : r.x) e = n(rng);
  const int64_t groups = cols / group, padded = simd::q8_padded_cols(bits, cols);
  r.xq.assign(static_cast<size_t>(tokens * padded), 0);
  r.d.resize(static_cast<size_t>(tokens * groups));
  r.gs.assign(r.d.size() + 64, 0.0f);
  for (int64_t t = 0; t < tokens; ++t) {
    reference::quantize_activations_q8(r.x.data() + t * cols, cols, group, r.xq.data() + t * padded,
                                       r.d.data() + t * groups);
    simd::q8_arrange_blocks32(bits, r.xq.data() + t * padded, padded);
    for (int64_t g = 0; g < groups; ++g)
      for (int k = 0; k < group; ++k) r.gs[t * groups + g] += r.x[t * cols + g * group + k];
  }
  r.in = {tokens, cols, padded, groups, r.xq.data(), r.d.data(), r.gs.data()};
  return r;
}

// Worst |y − reference| over the largest |reference|, plus a floor.
void expect_matches_reference(const WeightMatrix& w, const RoundedInput& r, const std::vector<float>& y) {
  std::vector<float> ref(y.size());
  reference::matmul_q8(w, r.x.data(), r.in.tokens, ref.data());
  double worst = 0, scale = 0;
  for (size_t i = 0; i < y.size(); ++i) {
    worst = std::max(worst, std::abs(double(y[i]) - ref[i]));
    scale = std::max(scale, std::abs(double(ref[i])));
  }
  ASSERT_LT(worst, 1e-5 * scale + 1e-6);  // exact integer dots; float epilogue order
}

TEST(Q8RowKernels, EveryVariantMatchesTheReference) {
  int ran = 0;
  for (const Variant& v : variants()) {
    if (!v.supported) continue;
    ++ran;
    SCOPED_TRACE(v.name);
    for (int bits : {2, 3, 4, 5, 6, 8})
      for (int group : {32, 64, 128}) {
        // Whole groups (as every real matrix) but not whole 256-code chunks.
        const int64_t rows = 21, cols = group == 128 ? 640 : group == 64 ? 320 : 352;
        const test::Affine a = test::random_affine(rows, cols, bits, group, static_cast<uint32_t>(bits * 131 + group));
        for (int64_t tokens : {1, 2, 3, 4, 5, 6, 7, 8, 9, 13}) {
          SCOPED_TRACE(testing::Message() << bits << "-bit g" << group << ", " << tokens << " tokens");
          const RoundedInput r = round_input(bits, group, cols, tokens, static_cast<uint32_t>(tokens * 7 + bits));
          std::vector<float> y(static_cast<size_t>(tokens * rows), NAN);
          v.rows(a.w, r.in, 0, 8, y.data(), rows);  // two row ranges, as two tasks would
          v.rows(a.w, r.in, 8, rows, y.data(), rows);
          expect_matches_reference(a.w, r, y);
        }
      }
  }
  if (ran == 0) GTEST_SKIP() << "no x86-64 AVX2 or ARM64 CPU: no row-kernel variant to run";
}

// A mapped tensor may end at the end of a page: the kernels' unpack reads 16 bytes for a
// 12-byte block of 3-bit codes, so a matrix whose codes end right before an unreadable page
// must still be read only within its bytes (decode reads rows in place; prefill unpacks them).
TEST(Q8RowKernels, ReadNothingPastAMatrixThatEndsAPage) {
  test::GuardedPage guarded;
  int ran = 0;
  for (const Variant& v : variants()) {
    if (!v.supported) continue;
    ++ran;
    SCOPED_TRACE(v.name);
    for (int bits : {2, 3, 4, 8}) {
      const int64_t rows = 5, cols = 256;
      test::Affine a = test::random_affine(rows, cols, bits, 64, static_cast<uint32_t>(bits));
      a.w.data = guarded.place_at_end(a.data);  // the codes end where the guard page starts
      for (int64_t tokens : {1, 8}) {
        SCOPED_TRACE(testing::Message() << bits << "-bit, " << tokens << " tokens");
        const RoundedInput r = round_input(bits, 64, cols, tokens, static_cast<uint32_t>(tokens + bits));
        std::vector<float> y(static_cast<size_t>(tokens * rows), NAN);
        v.rows(a.w, r.in, 0, rows, y.data(), rows);
        expect_matches_reference(a.w, r, y);
      }
    }
  }
  if (ran == 0) GTEST_SKIP() << "no x86-64 AVX2 or ARM64 CPU: no row-kernel variant to run";
}

}  // namespace
}  // namespace tf
