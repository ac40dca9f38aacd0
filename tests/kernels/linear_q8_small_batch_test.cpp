// The Int8 row kernels on small batches (a decode step of several sequences, a verify pass of
// k + 1 tokens): every token count of a tile (1 … 8) and the equal tiles larger batches are
// split into, on every SIMD target this CPU supports (the 512-bit VNNI kernel on AVX3_DL, the
// 256-bit ones on AVX3 / AVX2, the portable loop below them; NEON on ARM), against the scalar
// reference and against each token run alone. The kernels are called directly, without a
// thread pool (these tests run under qemu-user too: scripts/test-aarch64.sh), with inputs
// prepared as linear.cpp prepares them for the row kernels.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "kernels/affine_test_matrix.h"
#include "kernels/linear.h"
#include "kernels/linear_internal.h"
#include "kernels/simd_targets.h"

namespace tf {
namespace {

// y [tokens, rows] through the row kernels of the running target, in two row ranges (as two
// tasks would run them).
std::vector<float> row_kernels(const WeightMatrix& w, const float* x, int64_t tokens) {
  const int64_t groups = w.cols / w.group_size, padded = simd::q8_padded_cols(w.bits, w.cols);
  std::vector<int8_t> xq(static_cast<size_t>(tokens * padded));
  std::vector<int8_t> scratch(static_cast<size_t>(simd::q8_quantize_row_scratch(padded)));
  std::vector<float> d(static_cast<size_t>(tokens * groups)), gs(d.size() + 64, 0.0f);
  simd::group_sums(x, tokens, w.cols, w.group_size, gs.data());
  simd::q8_quantize_input(w.bits, w.group_size, x, tokens, w.cols, padded, xq.data(), d.data(),
                          scratch.data());
  const simd::Q8Input in{tokens, w.cols, padded, groups, xq.data(), d.data(), gs.data()};
  std::vector<float> y(static_cast<size_t>(tokens * w.rows), NAN);
  const int64_t split = w.rows / 3;
  simd::q8_affine_rows(w, in, 0, split, y.data(), w.rows);
  simd::q8_affine_rows(w, in, split, w.rows, y.data(), w.rows);
  return y;
}

std::vector<float> random_tokens(int64_t tokens, int64_t cols, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> n(0.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(tokens * cols));
  for (auto& v : x) v = n(rng);
  return x;
}

TEST(Q8SmallBatch, EveryTokenCountMatchesTheReferenceOnEveryTarget) {
  for (int bits : {2, 3, 4, 5, 6, 8})
    for (int group : {32, 64, 128}) {
      // Not whole 256-code chunks, not whole 64-code blocks for g = 32.
      const int64_t rows = 23, cols = group == 32 ? 352 : 640;
      const test::Affine a = test::random_affine(rows, cols, bits, group,
                                                 static_cast<uint32_t>(bits * 17 + group));
      for (int64_t tokens = 1; tokens <= 18; ++tokens) {
        const std::vector<float> x = random_tokens(tokens, cols, static_cast<uint32_t>(tokens));
        std::vector<float> ref(static_cast<size_t>(tokens * rows));
        reference::matmul_q8(a.w, x.data(), tokens, ref.data());
        test::for_each_target([&] {
          SCOPED_TRACE(testing::Message() << bits << "-bit g" << group << ", " << tokens << " tokens");
          const std::vector<float> y = row_kernels(a.w, x.data(), tokens);
          double worst = 0, scale = 0;
          for (size_t i = 0; i < y.size(); ++i) {
            worst = std::max(worst, std::abs(double(y[i]) - ref[i]));
            scale = std::max(scale, std::abs(double(ref[i])));
          }
          ASSERT_LT(worst, 1e-5 * scale + 1e-6);  // exact integer dots; float epilogue order
        });
      }
    }
}

// A sequence's outputs must not depend on the batch it ran in (the engine's batched == alone
// guarantee, bit for bit below the tile kernel's threshold): each token of a tile against the
// same token through the kernels alone. Every tile size sums a token's groups in the same order.
TEST(Q8SmallBatch, EachTokenOfABatchIsBitIdenticalToItAlone) {
  const int64_t rows = 37, cols = 1024;
  for (int bits : {2, 3, 4, 8}) {
    for (int group : {32, 64}) {
      const test::Affine a = test::random_affine(rows, cols, bits, group, static_cast<uint32_t>(bits));
      for (int64_t tokens : {2, 3, 4, 5, 7, 8, 11}) {
        const std::vector<float> x = random_tokens(tokens, cols, static_cast<uint32_t>(100 + tokens));
        test::for_each_target([&] {
          SCOPED_TRACE(testing::Message() << bits << "-bit g" << group << ", " << tokens << " tokens");
          const std::vector<float> y = row_kernels(a.w, x.data(), tokens);
          for (int64_t t = 0; t < tokens; ++t) {
            const std::vector<float> alone = row_kernels(a.w, x.data() + t * cols, 1);
            for (int64_t r = 0; r < rows; ++r)
              ASSERT_EQ(y[t * rows + r], alone[r]) << "token " << t << " row " << r;
          }
        });
      }
    }
  }
}

// Through matmul's dispatch (row kernels below q8_tiles_min_tokens, the tile kernel from there
// on where it exists), one thread: the same answers on both sides of both thresholds.
TEST(Q8SmallBatch, MatmulAroundTheTileThresholdsMatchesTheReference) {
  ThreadPool pool(1);
  const int64_t rows = 70;
  for (int64_t cols : {simd::kQ8ShortRowCols, int64_t{768}}) {
    for (int bits : {2, 3}) {
      const test::Affine a = test::random_affine(rows, cols, bits, 64, static_cast<uint32_t>(9 + bits));
      for (int64_t tokens = 1; tokens <= simd::q8_tiles_min_tokens(cols) + 2; ++tokens) {
        const std::vector<float> x = random_tokens(tokens, cols, static_cast<uint32_t>(tokens * 3));
        std::vector<float> ref(static_cast<size_t>(tokens * rows));
        reference::matmul_q8(a.w, x.data(), tokens, ref.data());
        test::for_each_target([&] {
          SCOPED_TRACE(testing::Message() << bits << "-bit, " << cols << " columns, " << tokens
                                          << " tokens");
          std::vector<float> y(ref.size(), NAN);
          matmul(a.w, x.data(), tokens, y.data(), pool, ActivationPrecision::Int8);
          double worst = 0, scale = 0;
          for (size_t i = 0; i < y.size(); ++i) {
            worst = std::max(worst, std::abs(double(y[i]) - ref[i]));
            scale = std::max(scale, std::abs(double(ref[i])));
          }
          ASSERT_LT(worst, 1e-5 * scale + 1e-6);
        });
      }
    }
  }
}

}  // namespace
}  // namespace tf
