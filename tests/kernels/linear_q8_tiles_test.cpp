// The batched Int8 kernels (linear_q8_tiles.cpp: 16 rows per vector, AVX-512 VNNI;
// linear_q8_tiles_avx2.cpp: 8 rows, AVX-VNNI; linear_q8_tiles_neon.cpp: ARM sdot and i8mm)
// against reference::matmul_q8 at the real expert and projection shapes, with token counts
// around the 8-token tiles and its kQ8TileMinTokens threshold, and row ranges that split 16-row blocks;
// 2-bit rows whose length is not a whole number of the planes layout's 256-code chunks.
// On CPUs without any of these the same calls run the row kernels, which must agree just the same:
// every test runs on every SIMD target this CPU supports (AVX3_DL, AVX3, AVX2, SSE4 on an
// AVX-512 VNNI machine), so the 256-bit kernels of AVX2-only CPUs are checked here too.
// Dispatch picks one tile kernel per CPU (i8mm where present on ARM), so the 256-bit and ARM
// variants are also called directly (Q8TileKernels), as Q8RowKernels does for the row kernels.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "kernels/linear.h"
#include "kernels/affine_test_matrix.h"
#include "kernels/guard_page.h"
#include "kernels/linear_internal.h"
#include "kernels/simd_targets.h"
#include "storage/dtype.h"

namespace tf {
namespace {

using test::Affine;
using test::random_affine;

TEST(LinearQ8Tiles, MatchesTheReferenceAtModelShapes) {
  ThreadPool pool(2);
  struct Shape {
    int64_t rows, cols;
    int bits, group;
  };
  for (const Shape& s : {Shape{512, 2048, 2, 64}, Shape{2048, 512, 2, 64}, Shape{520, 2048, 3, 64},
                         // 2-bit planes order with a partial 256-code chunk and a 16-row tail
                         Shape{40, 320, 2, 64}, Shape{19, 96, 2, 32}, Shape{24, 384, 2, 128},
                         Shape{100, 4096, 3, 128}, Shape{33, 2048, 4, 32}}) {
    const Affine a = random_affine(s.rows, s.cols, s.bits, s.group, static_cast<uint32_t>(s.rows + s.bits));
    test::for_each_target([&] {
      for (int64_t tokens : {1, 3, 4, 8, 13, 16}) {
        std::mt19937 rng(static_cast<uint32_t>(tokens));
        std::normal_distribution<float> n(0.0f, 1.0f);
        std::vector<float> x(static_cast<size_t>(tokens * s.cols));
        for (auto& v : x) v = n(rng);
        std::vector<float> y(static_cast<size_t>(tokens * s.rows)), ref(y.size());
        matmul(a.w, x.data(), tokens, y.data(), pool, ActivationPrecision::Int8);
        reference::matmul_q8(a.w, x.data(), tokens, ref.data());
        double worst = 0, scale = 0;
        for (size_t i = 0; i < y.size(); ++i) {
          worst = std::max(worst, std::abs(double(y[i]) - ref[i]));
          scale = std::max(scale, std::abs(double(ref[i])));
        }
        // Integer dots are exact; only the float epilogue's order differs.
        EXPECT_LT(worst, 1e-5 * scale + 1e-6)
            << s.rows << "x" << s.cols << " " << s.bits << "-bit g" << s.group << ", " << tokens << " tokens";
      }
    });
  }
}

}  // namespace
}  // namespace tf

namespace tf {
namespace {

// One batch whose jobs share an input across bit widths (2-bit planes order and natural order
// are separate preparations) and span several of the input slices matmul_batch rounds on the
// pool, next to a job with few tokens (row kernel): each output equals its own reference.
TEST(LinearQ8Tiles, BatchSharingInputsAcrossLayoutsMatchesTheReference) {
  ThreadPool pool(2);
  const int64_t cols = 512, tokens = 37;
  const Affine a2 = random_affine(48, cols, 2, 64, 7), a3 = random_affine(40, cols, 3, 64, 8),
               a4 = random_affine(24, cols, 4, 32, 9);
  std::mt19937 rng(11);
  std::normal_distribution<float> n(0.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(tokens * cols));
  for (auto& v : x) v = n(rng);
  test::for_each_target([&] {
    std::vector<float> y2(tokens * 48), y3(tokens * 40), y4(2 * 24), y2b(tokens * 48);
    const MatmulJob jobs[] = {{&a2.w, x.data(), tokens, y2.data()},
                              {&a3.w, x.data(), tokens, y3.data()},
                              {&a4.w, x.data(), 2, y4.data()},
                              {&a2.w, x.data(), tokens, y2b.data()}};
    matmul_batch(jobs, pool, ActivationPrecision::Int8);
    for (const MatmulJob& j : jobs) {
      std::vector<float> ref(static_cast<size_t>(j.tokens * j.w->rows));
      reference::matmul_q8(*j.w, x.data(), j.tokens, ref.data());
      double worst = 0, scale = 0;
      for (size_t i = 0; i < ref.size(); ++i) {
        worst = std::max(worst, std::abs(double(j.y[i]) - ref[i]));
        scale = std::max(scale, std::abs(double(ref[i])));
      }
      EXPECT_LT(worst, 1e-5 * scale + 1e-6) << j.w->bits << "-bit, " << j.tokens << " tokens";
    }
    EXPECT_EQ(y2, y2b);  // the same product twice in one batch
  });
}

}  // namespace
}  // namespace tf

namespace tf {
namespace {

struct TileVariant {
  const char* name;
  bool supported;
  // The variant's own rounding of the input (into rows of `stride` bytes) and its kernel.
  void (*quantize)(int bits, const float* x, int64_t tokens, int64_t cols, int group_size,
                   int64_t stride, int8_t* values, float* deltas);
  void (*rows)(const WeightMatrix& w, const simd::Q8TileInput& in, int64_t row_begin,
               int64_t row_end, float* y, int64_t y_stride);
  bool blocks32;  // the input bytes are in the 32-code block order (else natural)
};

// The 256-bit tile kernel with one byte dot product, as a TileVariant's `rows`.
template <simd::Q8Dot256 kDot>
void avx2_tiles_rows(const WeightMatrix& w, const simd::Q8TileInput& in, int64_t row_begin,
                     int64_t row_end, float* y, int64_t y_stride) {
  simd::q8_avx2_tiles_rows(kDot, w, in, row_begin, row_end, y, y_stride);
}

std::vector<TileVariant> tile_variants() {
  using simd::Q8Dot256;
  using simd::Q8Tile128;
  const auto neon_quantize = [](int, const float* x, int64_t tokens, int64_t cols, int group,
                                int64_t stride, int8_t* values, float* deltas) {
    simd::q8_neon_tiles_quantize(x, tokens, cols, group, stride, values, deltas);
  };
  return {
      {"NEON sdot tiles", simd::q8_tile128_supported(Q8Tile128::DotProd), neon_quantize,
       [](const WeightMatrix& w, const simd::Q8TileInput& in, int64_t b, int64_t e, float* y, int64_t s) {
         simd::q8_neon_tiles_rows(Q8Tile128::DotProd, w, in, b, e, y, s);
       },
       false},
      {"NEON i8mm tiles", simd::q8_tile128_supported(Q8Tile128::I8mm), neon_quantize,
       [](const WeightMatrix& w, const simd::Q8TileInput& in, int64_t b, int64_t e, float* y, int64_t s) {
         simd::q8_neon_tiles_rows(Q8Tile128::I8mm, w, in, b, e, y, s);
       },
       false},
      {"AVX2 vpmaddubsw tiles", simd::q8_dot256_supported(Q8Dot256::Maddubs), simd::q8_avx2_tiles_quantize,
       avx2_tiles_rows<Q8Dot256::Maddubs>, true},
      {"AVX-VNNI tiles", simd::q8_dot256_supported(Q8Dot256::AvxVnni), simd::q8_avx2_tiles_quantize,
       avx2_tiles_rows<Q8Dot256::AvxVnni>, true},
      {"AVX-512 VNNI ymm tiles", simd::q8_dot256_supported(Q8Dot256::Avx512Vnni),
       simd::q8_avx2_tiles_quantize, avx2_tiles_rows<Q8Dot256::Avx512Vnni>, true},
  };
}

// Every tile kernel variant but the AVX-512 one (which for_each_target above reaches through
// dispatch) called directly on inputs rounded by its own quantizer — which must equal the
// reference's rounding byte for byte, in its byte order — with token counts that leave every
// remainder of its token steps (4; 2 × 2 for i8mm), rows that end inside an 8-row block and
// ranges split between two calls, every width and group size.
TEST(Q8TileKernels, EveryVariantMatchesTheReference) {
  int ran = 0;
  for (const TileVariant& v : tile_variants()) {
    if (!v.supported) continue;
    ++ran;
    SCOPED_TRACE(v.name);
    for (int bits : {2, 3, 4, 5, 6, 8})
      for (int group : {32, 64, 128}) {
        const int64_t rows = 21, cols = group == 128 ? 640 : 320;  // whole groups, not whole 256-code chunks
        const Affine a = random_affine(rows, cols, bits, group, static_cast<uint32_t>(bits * 131 + group));
        for (int64_t tokens : {1, 2, 3, 4, 5, 7, 9}) {
          SCOPED_TRACE(testing::Message() << bits << "-bit g" << group << ", " << tokens << " tokens");
          std::mt19937 rng(static_cast<uint32_t>(tokens * 7 + bits));
          std::normal_distribution<float> n(0.0f, 1.0f);
          std::vector<float> x(static_cast<size_t>(tokens * cols));
          for (auto& e : x) e = n(rng);
          const int64_t stride = simd::q8_tiles_stride(cols), groups = cols / group;
          std::vector<int8_t> xq(static_cast<size_t>(tokens * stride), 99), rq(static_cast<size_t>(stride));
          std::vector<float> d(static_cast<size_t>(tokens * groups)), rd(static_cast<size_t>(groups));
          std::vector<float> gs(d.size(), 0.0f);
          v.quantize(bits, x.data(), tokens, cols, group, stride, xq.data(), d.data());
          for (int64_t t = 0; t < tokens; ++t) {
            std::fill(rq.begin(), rq.end(), int8_t{0});
            reference::quantize_activations_q8(x.data() + t * cols, cols, group, rq.data(), rd.data());
            if (v.blocks32) simd::q8_arrange_blocks32(bits, rq.data(), stride);
            ASSERT_TRUE(std::equal(rq.begin(), rq.end(), xq.begin() + t * stride)) << "token " << t;
            ASSERT_TRUE(std::equal(rd.begin(), rd.end(), d.begin() + t * groups));
            for (int64_t g = 0; g < groups; ++g)
              for (int k = 0; k < group; ++k) gs[t * groups + g] += x[t * cols + g * group + k];
          }
          const simd::Q8TileInput in{tokens, stride, xq.data(), d.data(), gs.data()};
          std::vector<float> y(static_cast<size_t>(tokens * rows), NAN), ref(y.size());
          v.rows(a.w, in, 0, 11, y.data(), rows);  // two tasks' ranges
          v.rows(a.w, in, 11, rows, y.data(), rows);
          reference::matmul_q8(a.w, x.data(), tokens, ref.data());
          double worst = 0, scale = 0;
          for (size_t i = 0; i < y.size(); ++i) {
            ASSERT_FALSE(std::isnan(y[i])) << "output " << i << " not written";
            worst = std::max(worst, std::abs(double(y[i]) - ref[i]));
            scale = std::max(scale, std::abs(double(ref[i])));
          }
          ASSERT_LT(worst, 1e-5 * scale + 1e-6);  // exact integer dots; float epilogue order
        }
      }
  }
  if (ran == 0) GTEST_SKIP() << "no AVX2 or ARM64 dot-product CPU: no tile variant to run";
}

// A mapped tensor may end at the end of a page, and the 256-bit unpack reads 16 bytes for a
// 12-byte block of 3-bit codes: every variant must read only within a matrix whose codes end
// right before an unreadable page (rows not a multiple of the 8- or 4-row blocks, too).
TEST(Q8TileKernels, ReadNothingPastAMatrixThatEndsAPage) {
  test::GuardedPage guarded;
  int ran = 0;
  for (const TileVariant& v : tile_variants()) {
    if (!v.supported) continue;
    ++ran;
    SCOPED_TRACE(v.name);
    for (int bits : {2, 3, 4, 5, 6, 8}) {
      const int64_t rows = 13, cols = 256, tokens = 5, group = 64;
      Affine a = random_affine(rows, cols, bits, group, static_cast<uint32_t>(bits));
      a.w.data = guarded.place_at_end(a.data);  // the codes end where the guard page starts
      std::mt19937 rng(static_cast<uint32_t>(bits));
      std::normal_distribution<float> n(0.0f, 1.0f);
      std::vector<float> x(static_cast<size_t>(tokens * cols));
      for (auto& e : x) e = n(rng);
      const int64_t stride = simd::q8_tiles_stride(cols), groups = cols / group;
      std::vector<int8_t> xq(static_cast<size_t>(tokens * stride));
      std::vector<float> d(static_cast<size_t>(tokens * groups)), gs(d.size(), 0.0f);
      v.quantize(bits, x.data(), tokens, cols, group, stride, xq.data(), d.data());
      for (int64_t t = 0; t < tokens; ++t)
        for (int64_t k = 0; k < cols; ++k) gs[t * groups + k / group] += x[t * cols + k];
      const simd::Q8TileInput in{tokens, stride, xq.data(), d.data(), gs.data()};
      std::vector<float> y(static_cast<size_t>(tokens * rows), NAN), ref(y.size());
      v.rows(a.w, in, 0, rows, y.data(), rows);
      reference::matmul_q8(a.w, x.data(), tokens, ref.data());
      double worst = 0, scale = 0;
      for (size_t i = 0; i < y.size(); ++i) {
        worst = std::max(worst, std::abs(double(y[i]) - ref[i]));
        scale = std::max(scale, std::abs(double(ref[i])));
      }
      EXPECT_LT(worst, 1e-5 * scale + 1e-6) << bits << "-bit";
    }
  }
  if (ran == 0) GTEST_SKIP() << "no AVX2 or ARM64 dot-product CPU: no tile variant to run";
}

}  // namespace
}  // namespace tf
