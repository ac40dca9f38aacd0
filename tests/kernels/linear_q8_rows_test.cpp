// Every Int8 row-kernel variant this CPU can run, called directly (not through dispatch), against
// reference::matmul_q8: the 256-bit x86 kernels with each way of forming byte dot products
// (vpmaddubsw, AVX-VNNI and AVX-512 VNNI vpdpbusd) and the ARM ones (smull + sadalp, sdot).
// Dispatch picks one variant per CPU, so for_each_target alone would leave the others
// unchecked; their inputs are built here as linear.cpp builds them (rounded per token, in the
// 32-code block order, float group sums).
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "kernels/affine_test_matrix.h"
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
          std::mt19937 rng(static_cast<uint32_t>(tokens * 7 + bits));
          std::normal_distribution<float> n(0.0f, 1.0f);
          std::vector<float> x(static_cast<size_t>(tokens * cols));
          for (auto& e : x) e = n(rng);
          const int64_t groups = cols / group, padded = simd::q8_padded_cols(bits, cols);
          std::vector<int8_t> xq(static_cast<size_t>(tokens * padded), 0);
          std::vector<float> d(static_cast<size_t>(tokens * groups)), gs(d.size() + 64, 0.0f);
          for (int64_t t = 0; t < tokens; ++t) {
            reference::quantize_activations_q8(x.data() + t * cols, cols, group, xq.data() + t * padded,
                                               d.data() + t * groups);
            simd::q8_arrange_blocks32(bits, xq.data() + t * padded, padded);
            for (int64_t g = 0; g < groups; ++g)
              for (int k = 0; k < group; ++k) gs[t * groups + g] += x[t * cols + g * group + k];
          }
          const simd::Q8Input in{tokens, cols, padded, groups, xq.data(), d.data(), gs.data()};
          std::vector<float> y(static_cast<size_t>(tokens * rows), NAN), ref(y.size());
          v.rows(a.w, in, 0, 8, y.data(), rows);  // two row ranges, as two tasks would
          v.rows(a.w, in, 8, rows, y.data(), rows);
          reference::matmul_q8(a.w, x.data(), tokens, ref.data());
          double worst = 0, scale = 0;
          for (size_t i = 0; i < y.size(); ++i) {
            worst = std::max(worst, std::abs(double(y[i]) - ref[i]));
            scale = std::max(scale, std::abs(double(ref[i])));
          }
          ASSERT_LT(worst, 1e-5 * scale + 1e-6);  // exact integer dots; float epilogue order
        }
      }
  }
  if (ran == 0) GTEST_SKIP() << "no x86-64 AVX2 or ARM64 CPU: no row-kernel variant to run";
}

}  // namespace
}  // namespace tf
