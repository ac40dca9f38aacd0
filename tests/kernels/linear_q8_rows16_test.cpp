// 2- and 3-bit rows interleaved in blocks of 16 (linear_q8_rows16.cpp): the layout is a
// permutation of the MLX bits that WeightMatrix::copy_row undoes, and the kernel on it agrees
// with reference::matmul_q8 on the original matrix at the model's shapes and every group size,
// for token counts around its 8-token tiles.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "kernels/affine_test_matrix.h"
#include "kernels/interleaved_test_matrix.h"
#include "kernels/linear.h"
#include "kernels/linear_internal.h"
#include "kernels/simd_targets.h"
#include "storage/dtype.h"

namespace tf {
namespace {

using test::Affine;
using test::random_affine;

using test::Interleaved;
Interleaved interleave(const WeightMatrix& w) { return test::interleave(w, WeightMatrix::Layout::Rows16); }

TEST(LinearQ8Rows16, TheLayoutIsAPermutationOfTheRows) {
  const Affine a = random_affine(32, 512, 2, 64, 5);
  ASSERT_TRUE(simd::q8_rows16_layout_fits(a.w));
  const Interleaved i = interleave(a.w);
  // Row 16b + r, dword j (codes 16j … 16j + 15) sits at ((b · 32 + j) · 16 + r) · 4.
  const int64_t columns = 512 / 16;
  for (int64_t row : {0, 5, 15, 16, 31})
    for (int64_t j : {0, 1, 31}) {
      const int64_t b = row / 16, r = row % 16;
      EXPECT_EQ(std::memcmp(i.codes.data() + ((b * columns + j) * 16 + r) * 4,
                            a.data.data() + row * a.w.row_bytes() + 4 * j, 4),
                0)
          << "row " << row << " dword " << j;
    }
  // Scale (row 16b + r, group g) at (b · groups + g) · 16 + r.
  const int64_t groups = 512 / 64;
  EXPECT_EQ(load_float(i.scales.data(), DType::BF16, (1 * groups + 3) * 16 + 7),
            load_float(a.scales.data(), DType::BF16, (16 + 7) * groups + 3));
  EXPECT_EQ(load_float(i.biases.data(), DType::BF16, 2 * 16 + 9),
            load_float(a.biases.data(), DType::BF16, 9 * groups + 2));
  std::vector<uint8_t> sorted_in(a.data), sorted_out(i.codes);
  std::sort(sorted_in.begin(), sorted_in.end());
  std::sort(sorted_out.begin(), sorted_out.end());
  EXPECT_EQ(sorted_in, sorted_out);
}

TEST(LinearQ8Rows16, ThreeBitRowsComeBackCodeForCode) {
  // Every row gathered back (copy_row, through interleaved_place) is the MLX row, for each group
  // size; and the bits are only moved: as many set bits in and out.
  for (int group : {32, 64, 128}) {
    const Affine a = random_affine(48, 768, 3, group, static_cast<uint32_t>(group));
    ASSERT_TRUE(simd::q8_rows16_layout_fits(a.w));
    const Interleaved i = interleave(a.w);
    std::vector<uint8_t> row(a.w.row_bytes());
    for (int64_t r = 0; r < 48; ++r) {
      i.w.copy_row(r, row.data());
      EXPECT_EQ(std::memcmp(row.data(), a.data.data() + r * a.w.row_bytes(), row.size()), 0) << "row " << r;
    }
    int64_t in = 0, out = 0;
    for (uint8_t v : a.data) in += __builtin_popcount(v);
    for (uint8_t v : i.codes) out += __builtin_popcount(v);
    EXPECT_EQ(in, out);
  }
  // The documented places: code 32m + 16c + 4b + p of lane r — low bits in vector 3m + c,
  // high bit in vector 3m + 2, in mask 4c + p (8 bytes each) at bit 4r + b.
  const WeightMatrix::InterleavedPlace at = WeightMatrix::interleaved_place(3, 16, 5, 32 * 2 + 16 + 4 * 3 + 1);
  EXPECT_EQ(at.low, static_cast<size_t>(((3 * 2 + 1) * 16 + 5) * 4 + 3));
  EXPECT_EQ(at.low_shift, 2);
  EXPECT_EQ(at.high, static_cast<size_t>((3 * 2 + 2) * 64 + 8 * (4 * 1 + 1) + (4 * 5 + 3) / 8));
  EXPECT_EQ(at.high_shift, (4 * 5 + 3) % 8);
}

TEST(LinearQ8Rows16, OnlyTwoAndThreeBitWholeBlocksFit) {
  EXPECT_TRUE(simd::q8_rows16_layout_fits(random_affine(32, 512, 3, 64, 1).w));
  EXPECT_FALSE(simd::q8_rows16_layout_fits(random_affine(32, 512, 4, 64, 1).w));
  EXPECT_FALSE(simd::q8_rows16_layout_fits(random_affine(24, 512, 2, 64, 1).w));
  EXPECT_FALSE(simd::q8_rows16_layout_fits(random_affine(32, 320, 2, 64, 1).w));
  const Affine four = random_affine(32, 512, 4, 64, 1);
  std::vector<uint8_t> out(four.data.size() + four.scales.size());
  EXPECT_THROW(simd::q8_rows16_interleave(four.w, out.data(), out.data(), out.data()), std::invalid_argument);
}

TEST(LinearQ8Rows16, MatchesTheReferenceAtModelShapes) {
  if (!simd::q8_rows16_supported() || !simd::q8_tiles_fast())
    GTEST_SKIP() << "needs AVX-512 VNNI and VBMI (the AVX3_DL target)";
  struct Shape {
    int64_t rows, cols;
    int group, bits;
  };
  // 2-bit: the routed experts' gate / up and down; 3-bit: attention and DeltaNet projections,
  // the shared expert's, a slice of the head; small ones for the group sizes.
  for (const Shape& s : {Shape{512, 2048, 64, 2}, Shape{2048, 512, 64, 2}, Shape{256, 256, 64, 2},
                         Shape{48, 256, 32, 2}, Shape{32, 768, 128, 2}, Shape{1024, 2048, 64, 3},
                         Shape{2048, 4096, 64, 3}, Shape{2048, 512, 64, 3}, Shape{48, 256, 32, 3},
                         Shape{32, 768, 128, 3}}) {
    const Affine a = random_affine(s.rows, s.cols, s.bits, s.group, static_cast<uint32_t>(s.rows + s.cols + s.bits));
    const Interleaved i = interleave(a.w);
    const int64_t groups = s.cols / s.group;
    for (int64_t tokens : {1, 2, 3, 4, 5, 8, 9, 16}) {
      std::mt19937 rng(static_cast<uint32_t>(tokens));
      std::normal_distribution<float> n(0.0f, 1.0f);
      std::vector<float> x(static_cast<size_t>(tokens * s.cols));
      for (auto& v : x) v = n(rng);
      const int64_t stride = simd::q8_tiles_stride(s.cols);
      std::vector<int8_t> values(static_cast<size_t>(tokens * stride));
      std::vector<float> deltas(static_cast<size_t>(tokens * groups)), sums(deltas.size());
      simd::q8_tiles_quantize(2, x.data(), tokens, s.cols, s.group, values.data(), deltas.data());
      simd::group_sums(x.data(), tokens, s.cols, s.group, sums.data());
      const simd::Q8TileInput in{tokens, stride, values.data(), deltas.data(), sums.data()};
      std::vector<float> y(static_cast<size_t>(tokens * s.rows), -1.0f), ref(y.size());
      // Two calls over row ranges that split the matrix at a block boundary.
      const int64_t cut = s.rows / 32 * 16;
      simd::q8_rows16_rows(i.w, in, 0, cut, y.data(), s.rows);
      simd::q8_rows16_rows(i.w, in, cut, s.rows, y.data(), s.rows);
      reference::matmul_q8(a.w, x.data(), tokens, ref.data());
      const test::Deviation dev = test::deviation(y, ref);
      // Integer dots are exact; only the float epilogue's order differs.
      EXPECT_LT(dev.worst, 1e-5 * dev.scale + 1e-6) << s.bits << "-bit " << s.rows << "x" << s.cols << " g" << s.group << ", " << tokens << " tokens";
    }
  }
}

TEST(LinearQ8Rows16, MatmulRunsInterleavedRowsOnEveryTargetAndPrecision) {
  // The Int8 kernel where it exists; elsewhere, and at F32 precision, rows gathered back and
  // multiplied in float: slower, never wrong (a model interleaved at load may meet either).
  ThreadPool pool(2);
  for (int bits : {2, 3}) {
  const Affine a = random_affine(256, 256, bits, 64, 9);
  const Interleaved i = interleave(a.w);
  std::vector<float> rows(static_cast<size_t>(3 * 256)), want(rows.size());
  dequantize_rows(i.w, 17, 3, rows.data());
  reference::dequantize_rows(a.w, 17, 3, want.data());
  EXPECT_EQ(rows, want);
  test::for_each_target([&] {
    for (ActivationPrecision precision : {ActivationPrecision::Int8, ActivationPrecision::F32})
      for (int64_t tokens : {1, 5}) {
        std::mt19937 rng(static_cast<uint32_t>(tokens));
        std::normal_distribution<float> n(0.0f, 1.0f);
        std::vector<float> x(static_cast<size_t>(tokens * 256));
        for (auto& v : x) v = n(rng);
        std::vector<float> y(static_cast<size_t>(tokens * 256)), ref(y.size());
        matmul(i.w, x.data(), tokens, y.data(), pool, precision);
        const bool int8 = precision == ActivationPrecision::Int8 && simd::q8_rows16_supported();
        if (int8)
          reference::matmul_q8(a.w, x.data(), tokens, ref.data());
        else
          reference::matmul(a.w, x.data(), tokens, ref.data());
        const test::Deviation dev = test::deviation(y, ref);
        EXPECT_LT(dev.worst, 1e-5 * dev.scale + 1e-6) << bits << "-bit, " << (int8 ? "int8 kernel" : "float fallback") << ", " << tokens << " tokens";
      }
  });
  // Slices keep whole blocks.
  EXPECT_NO_THROW(i.w.row_slice(16, 32));
  EXPECT_THROW(i.w.row_slice(8, 16), std::out_of_range);
  }
}

}  // namespace
}  // namespace tf
