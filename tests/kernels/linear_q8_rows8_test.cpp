// 2- and 3-bit rows interleaved in blocks of 8 (linear_q8_rows8.cpp): the layout is a
// permutation of the MLX bits that WeightMatrix::copy_row undoes, the fast interleave equals the
// scalar definition, and the kernel — every byte dot product this CPU has (vpmaddubsw, AVX-VNNI,
// AVX-512 VNNI on ymm), in place for up to 4 tokens and through the tile kernel for more —
// agrees with reference::matmul_q8 on the original matrix at the model's shapes and every group
// size and scale type.
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
Interleaved interleave(const WeightMatrix& w) { return test::interleave(w, WeightMatrix::Layout::Rows8); }

TEST(LinearQ8Rows8, TheLayoutIsAPermutationOfTheRows) {
  const Affine a = random_affine(24, 512, 2, 64, 5);
  ASSERT_TRUE(simd::q8_rows8_layout_fits(a.w));
  const Interleaved i = interleave(a.w);
  // Row 8b + r, dword j (codes 16j … 16j + 15) sits at ((b · 32 + j) · 8 + r) · 4.
  const int64_t columns = 512 / 16;
  for (int64_t row : {0, 5, 7, 8, 23})
    for (int64_t j : {0, 1, 7, 8, 31}) {
      const int64_t b = row / 8, r = row % 8;
      EXPECT_EQ(std::memcmp(i.codes.data() + ((b * columns + j) * 8 + r) * 4,
                            a.data.data() + row * a.w.row_bytes() + 4 * j, 4),
                0)
          << "row " << row << " dword " << j;
    }
  // Scale (row 8b + r, group g) at (b · groups + g) · 8 + r.
  const int64_t groups = 512 / 64;
  EXPECT_EQ(load_float(i.scales.data(), DType::BF16, (1 * groups + 3) * 8 + 7),
            load_float(a.scales.data(), DType::BF16, (8 + 7) * groups + 3));
  EXPECT_EQ(load_float(i.biases.data(), DType::BF16, 2 * 8 + 6),
            load_float(a.biases.data(), DType::BF16, 6 * groups + 2));
}

TEST(LinearQ8Rows8, RowsComeBackCodeForCodeAndTheFastInterleaveIsTheDefinition) {
  // Every row gathered back (copy_row, through interleaved_place) is the MLX row, for each
  // width and group size, with a column count that is not a whole 128 codes (the 2-bit
  // interleave's transposes take 128 at a time); and the bytes equal the code-by-code scalar
  // placement.
  for (int bits : {2, 3})
    for (int group : {32, 64, 128}) {
      const int64_t cols = group == 32 ? 352 : group == 64 ? 320 : 640;
      const Affine a = random_affine(24, cols, bits, group, static_cast<uint32_t>(group + bits));
      ASSERT_TRUE(simd::q8_rows8_layout_fits(a.w));
      const Interleaved i = interleave(a.w);
      std::vector<uint8_t> row(a.w.row_bytes());
      for (int64_t r = 0; r < 24; ++r) {
        i.w.copy_row(r, row.data());
        EXPECT_EQ(std::memcmp(row.data(), a.data.data() + r * a.w.row_bytes(), row.size()), 0)
            << bits << "-bit g" << group << " row " << r;
      }
      std::vector<uint8_t> scalar(i.codes.size(), 0);
      for (int64_t b = 0; b < 24 / 8; ++b) simd::q8_interleave_codes_scalar(a.w, 8, b, scalar.data());
      EXPECT_EQ(scalar, i.codes) << bits << "-bit g" << group;
    }
  // The documented places: code 32m + 16c + 4b + p of lane r is plane h = 4c + p, at byte
  // 4r + b of vector 3m + ⌊h/3⌋, bits 3(h mod 3) …; planes 2 and 5 keep their high bit at bit
  // 6 / 7 of vector 3m + 2.
  const WeightMatrix::InterleavedPlace whole = WeightMatrix::interleaved_place(3, 8, 5, 32 * 2 + 16 + 4 * 3 + 0);
  EXPECT_EQ(whole.low, static_cast<size_t>((3 * 2 + 1) * 32 + 4 * 5 + 3));  // plane 4
  EXPECT_EQ(whole.low_shift, 3);
  EXPECT_EQ(whole.high, whole.low);
  EXPECT_EQ(whole.high_shift, 5);
  const WeightMatrix::InterleavedPlace split = WeightMatrix::interleaved_place(3, 8, 5, 32 * 2 + 16 + 4 * 3 + 1);
  EXPECT_EQ(split.low, static_cast<size_t>((3 * 2 + 1) * 32 + 4 * 5 + 3));  // plane 5
  EXPECT_EQ(split.low_shift, 6);
  EXPECT_EQ(split.high, static_cast<size_t>((3 * 2 + 2) * 32 + 4 * 5 + 3));
  EXPECT_EQ(split.high_shift, 7);
}

TEST(LinearQ8Rows8, OnlyTwoAndThreeBitWholeBlocksFit) {
  EXPECT_TRUE(simd::q8_rows8_layout_fits(random_affine(24, 320, 3, 64, 1).w));
  EXPECT_FALSE(simd::q8_rows8_layout_fits(random_affine(24, 512, 4, 64, 1).w));
  EXPECT_FALSE(simd::q8_rows8_layout_fits(random_affine(20, 512, 2, 64, 1).w));
  const Affine four = random_affine(32, 512, 4, 64, 1);
  std::vector<uint8_t> out(four.data.size() + four.scales.size());
  EXPECT_THROW(simd::q8_rows8_interleave(four.w, out.data(), out.data(), out.data()), std::invalid_argument);
}

struct Dot {
  const char* name;
  simd::Q8Dot256 dot;
};

TEST(LinearQ8Rows8, EveryByteDotMatchesTheReferenceAtModelShapes) {
  const Dot dots[] = {{"vpmaddubsw", simd::Q8Dot256::Maddubs},
                      {"AVX-VNNI", simd::Q8Dot256::AvxVnni},
                      {"AVX-512 VNNI ymm", simd::Q8Dot256::Avx512Vnni}};
  struct Shape {
    int64_t rows, cols;
    int group, bits;
    DType dtype;
  };
  int ran = 0;
  for (const Dot& d : dots) {
    if (!simd::q8_dot256_supported(d.dot)) continue;
    ++ran;
    SCOPED_TRACE(d.name);
    // 2-bit: the routed experts' gate / up and down; 3-bit: attention and DeltaNet projections,
    // the shared expert's; small ones for the group sizes and scale types.
    for (const Shape& s :
         {Shape{512, 2048, 64, 2, DType::BF16}, Shape{2048, 512, 64, 2, DType::BF16},
          Shape{48, 352, 32, 2, DType::F16}, Shape{32, 640, 128, 2, DType::F32},
          Shape{1024, 2048, 64, 3, DType::BF16}, Shape{512, 4096, 64, 3, DType::BF16},
          Shape{48, 352, 32, 3, DType::F16}, Shape{32, 640, 128, 3, DType::F32}}) {
      const Affine a = random_affine(s.rows, s.cols, s.bits, s.group,
                                     static_cast<uint32_t>(s.rows + s.cols + s.bits), s.dtype);
      const Interleaved i = interleave(a.w);
      const int64_t groups = s.cols / s.group;
      for (int64_t tokens : {1, 2, 3, 4, 5, 9}) {
        SCOPED_TRACE(testing::Message() << s.bits << "-bit " << s.rows << "x" << s.cols << " g" << s.group
                                        << " " << dtype_name(s.dtype) << ", " << tokens << " tokens");
        std::mt19937 rng(static_cast<uint32_t>(tokens));
        std::normal_distribution<float> n(0.0f, 1.0f);
        std::vector<float> x(static_cast<size_t>(tokens * s.cols));
        for (auto& v : x) v = n(rng);
        const int64_t stride = simd::q8_tiles_stride(s.cols);
        std::vector<int8_t> values(static_cast<size_t>(tokens * stride), 99);
        std::vector<float> deltas(static_cast<size_t>(tokens * groups)), sums(deltas.size() + 64);
        simd::q8_rows8_quantize(x.data(), tokens, s.cols, s.group, values.data(), deltas.data());
        simd::group_sums(x.data(), tokens, s.cols, s.group, sums.data());
        const simd::Q8TileInput in{tokens, stride, values.data(), deltas.data(), sums.data()};
        std::vector<float> y(static_cast<size_t>(tokens * s.rows), NAN), ref(y.size());
        // Two calls over row ranges that split the matrix at a block boundary.
        const int64_t cut = s.rows / 16 * 8;
        simd::q8_rows8_rows(d.dot, i.w, in, 0, cut, y.data(), s.rows);
        simd::q8_rows8_rows(d.dot, i.w, in, cut, s.rows, y.data(), s.rows);
        reference::matmul_q8(a.w, x.data(), tokens, ref.data());
        const test::Deviation dev = test::deviation(y, ref);
        // Integer dots are exact; only the float epilogue's order differs.
        EXPECT_LT(dev.worst, 1e-5 * dev.scale + 1e-6);
      }
    }
  }
  if (ran == 0) GTEST_SKIP() << "no x86-64 AVX2 CPU";
}

// A speculative verify batch (or a step of several sequences) must give each token the bits it
// gets alone: the integer sums are exact whatever the tile, pair of blocks or chain split, and
// the epilogue runs per token in one order. Odd block counts put a lone block after the pairs.
TEST(LinearQ8Rows8, EachTokenOfABatchGetsTheBitsItGetsAlone) {
  int ran = 0;
  for (const simd::Q8Dot256 dot :
       {simd::Q8Dot256::Maddubs, simd::Q8Dot256::AvxVnni, simd::Q8Dot256::Avx512Vnni}) {
    if (!simd::q8_dot256_supported(dot)) continue;
    ++ran;
    for (int bits : {2, 3})
      for (int group : {32, 64, 128})
        for (int64_t rows : {40, 64}) {
          const int64_t cols = 512, groups = cols / group;
          const Affine a =
              random_affine(rows, cols, bits, group, static_cast<uint32_t>(rows + bits + group));
          const Interleaved i = interleave(a.w);
          const int64_t stride = simd::q8_tiles_stride(cols);
          const auto run = [&](const float* x, int64_t tokens) {
            std::vector<int8_t> values(static_cast<size_t>(tokens * stride));
            std::vector<float> deltas(static_cast<size_t>(tokens * groups)), sums(deltas.size() + 64);
            simd::q8_rows8_quantize(x, tokens, cols, group, values.data(), deltas.data());
            simd::group_sums(x, tokens, cols, group, sums.data());
            const simd::Q8TileInput in{tokens, stride, values.data(), deltas.data(), sums.data()};
            std::vector<float> y(static_cast<size_t>(tokens * rows), NAN);
            simd::q8_rows8_rows(dot, i.w, in, 0, rows, y.data(), rows);
            return y;
          };
          for (int64_t tokens : {2, 3, 4}) {
            std::mt19937 rng(static_cast<uint32_t>(tokens));
            std::normal_distribution<float> n(0.0f, 1.0f);
            std::vector<float> x(static_cast<size_t>(tokens * cols));
            for (auto& v : x) v = n(rng);
            const std::vector<float> batch = run(x.data(), tokens);
            for (int64_t t = 0; t < tokens; ++t) {
              const std::vector<float> alone = run(x.data() + t * cols, 1);
              EXPECT_TRUE(std::equal(alone.begin(), alone.end(), batch.begin() + t * rows))
                  << static_cast<int>(dot) << ": " << bits << "-bit g" << group << ", " << rows
                  << " rows, token " << t << " of " << tokens;
            }
          }
        }
  }
  if (ran == 0) GTEST_SKIP() << "no x86-64 AVX2 CPU";
}

TEST(LinearQ8Rows8, MatmulRunsInterleavedRowsOnEveryTargetAndPrecision) {
  // The Int8 kernel where the running target has it; elsewhere, and at F32 precision, rows
  // gathered back and multiplied in float: slower, never wrong.
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
        for (int64_t tokens : {1, 3, 6}) {
          std::mt19937 rng(static_cast<uint32_t>(tokens));
          std::normal_distribution<float> n(0.0f, 1.0f);
          std::vector<float> x(static_cast<size_t>(tokens * 256));
          for (auto& v : x) v = n(rng);
          std::vector<float> y(static_cast<size_t>(tokens * 256)), ref(y.size());
          matmul(i.w, x.data(), tokens, y.data(), pool, precision);
          const bool int8 = precision == ActivationPrecision::Int8 && simd::q8_rows8_supported();
          if (int8)
            reference::matmul_q8(a.w, x.data(), tokens, ref.data());
          else
            reference::matmul(a.w, x.data(), tokens, ref.data());
          const test::Deviation dev = test::deviation(y, ref);
          EXPECT_LT(dev.worst, 1e-5 * dev.scale + 1e-6)
              << bits << "-bit, " << (int8 ? "int8 kernel" : "float fallback") << ", " << tokens << " tokens";
        }
    });
    // Slices keep whole blocks.
    EXPECT_NO_THROW(i.w.row_slice(8, 16));
    EXPECT_THROW(i.w.row_slice(4, 8), std::out_of_range);
  }
}

}  // namespace
}  // namespace tf
