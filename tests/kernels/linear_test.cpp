// SIMD matrix kernels against the scalar reference, on random matrices (random packed bytes are
// valid codes), every bit width × group × scale dtype, awkward shapes, unaligned pointers,
// 1–3 threads, every SIMD target this CPU supports.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <hwy/targets.h>

#include "kernels/linear.h"
#include "kernels/linear_internal.h"
#include "kernels/simd_targets.h"

namespace tf {
namespace {

constexpr int kBits[] = {2, 3, 4, 5, 6, 8};
constexpr int kGroups[] = {32, 64, 128};

// Owns the bytes behind a WeightMatrix, each array starting `misalign` bytes past an aligned
// address (MLX files are not padded).
struct TestMatrix {
  std::vector<uint8_t> data, scales, biases;
  size_t misalign = 0;
  WeightMatrix w;

  void bind() {
    w.data = data.data() + misalign;
    if (w.quantized()) {
      w.scales = scales.data() + misalign;
      w.biases = biases.data() + misalign;
    }
  }
};

void fill_float(std::vector<uint8_t>& buf, size_t offset, DType dt, size_t count,
                std::mt19937& rng, float lo, float hi) {
  std::uniform_real_distribution<float> mag(lo, hi);
  for (size_t i = 0; i < count; ++i) store_float(buf.data() + offset, dt, i, (rng() & 1) ? mag(rng) : -mag(rng));
}

TestMatrix make_affine(int64_t rows, int64_t cols, int bits, int group, DType dt, uint32_t seed,
                       size_t misalign) {
  std::mt19937 rng(seed);
  TestMatrix m;
  m.misalign = misalign;
  m.w.format = WeightMatrix::Format::Affine;
  m.w.dtype = dt;
  m.w.bits = bits;
  m.w.group_size = group;
  m.w.rows = rows;
  m.w.cols = cols;
  const size_t bytes = static_cast<size_t>(rows * cols * bits / 8);
  const size_t groups = static_cast<size_t>(rows * cols / group);
  m.data.resize(bytes + misalign);
  for (size_t i = 0; i < bytes; ++i) m.data[misalign + i] = static_cast<uint8_t>(rng());
  m.scales.resize(groups * dtype_size(dt) + misalign);
  m.biases.resize(groups * dtype_size(dt) + misalign);
  fill_float(m.scales, misalign, dt, groups, rng, 0.002f, 0.02f);  // MLX scales can be < 0
  fill_float(m.biases, misalign, dt, groups, rng, 0.0f, 0.1f);
  m.bind();
  return m;
}

TestMatrix make_dense(int64_t rows, int64_t cols, DType dt, uint32_t seed, size_t misalign) {
  std::mt19937 rng(seed);
  TestMatrix m;
  m.misalign = misalign;
  m.w.dtype = dt;
  m.w.rows = rows;
  m.w.cols = cols;
  m.data.resize(static_cast<size_t>(rows * cols) * dtype_size(dt) + misalign);
  fill_float(m.data, misalign, dt, static_cast<size_t>(rows * cols), rng, 0.0f, 0.1f);
  m.bind();
  return m;
}

// Same codes with |s| and |β| (or |w| for dense): reference products against |x| give
// S = Σ_k (|s q_k| + |β|)·|x_k|, the scale that float rounding errors are relative to.
TestMatrix absolute(const TestMatrix& m, bool zero_biases = false) {
  TestMatrix a = m;
  if (zero_biases) std::fill(a.biases.begin(), a.biases.end(), uint8_t{0});
  auto abs_all = [&](std::vector<uint8_t>& buf, size_t count) {
    uint8_t* p = buf.data() + a.misalign;
    for (size_t i = 0; i < count; ++i)
      store_float(p, a.w.dtype, i, std::fabs(load_float(p, a.w.dtype, i)));
  };
  if (m.w.quantized()) {
    const size_t groups = static_cast<size_t>(m.w.rows * m.w.groups_per_row());
    abs_all(a.scales, groups);
    abs_all(a.biases, groups);
  } else {
    abs_all(a.data, static_cast<size_t>(m.w.rows * m.w.cols));
  }
  a.bind();
  return a;
}

std::vector<float> random_input(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(n);
  for (auto& v : x) v = normal(rng);
  return x;
}

std::vector<float> abs_of(std::vector<float> v) {
  for (auto& x : v) x = std::fabs(x);
  return v;
}

// Float path tolerance: 2e-5 · S. The kernels sum in float (per lane, then across lanes and
// groups): the error of such a sum of K terms is ≲ (K/lanes + log2 lanes + groups)·2^-24·S in
// the worst case; K ≤ 1024 here keeps that below 1e-5·S. The reference sums in double.
void expect_close(const std::vector<float>& got, const std::vector<float>& want,
                  const std::vector<float>& scale, double rel, const std::string& what) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i)
    ASSERT_LE(std::fabs(double(got[i]) - want[i]), rel * scale[i] + 1e-30)
        << what << " at output " << i << ": got " << got[i] << ", want " << want[i];
}

using test::for_each_target;

TEST(Linear, QuantizedMatchesReferenceEveryBitsGroupDtype) {
  ThreadPool pool(2);
  for_each_target([&] {
    for (DType dt : {DType::BF16, DType::F16, DType::F32})
      for (int bits : kBits)
        for (int g : kGroups) {
          const int64_t rows = 37, cols = g == 32 ? 224 : 2 * g;  // 224 = 7 × 32: partial blocks
          SCOPED_TRACE(testing::Message() << bits << " bits, group " << g << ", " << dtype_name(dt));
          TestMatrix m = make_affine(rows, cols, bits, g, dt, 100 + bits * 7 + g, (bits + g) % 4);
          TestMatrix a = absolute(m);
          for (int64_t tokens : {1, 3, 9}) {
            const std::vector<float> x = random_input(tokens * cols, 5 + tokens);
            std::vector<float> y(tokens * rows), ref(tokens * rows), scale(tokens * rows);
            matmul(m.w, x.data(), tokens, y.data(), pool);
            reference::matmul(m.w, x.data(), tokens, ref.data());
            reference::matmul(a.w, abs_of(x).data(), tokens, scale.data());
            expect_close(y, ref, scale, 2e-5, "tokens " + std::to_string(tokens));
          }
        }
  });
}

TEST(Linear, QuantizedShapesTokensThreads) {
  // K not a multiple of any block, N not a multiple of the thread count, T = 1..17.
  for (int threads : {1, 2, 3}) {
    ThreadPool pool(threads);
    for (int bits : {2, 3, 5}) {
      for (int64_t cols : {32, 96, 160, 1024, 4352}) {  // 4352: long rows get smaller token tiles
        const int64_t rows = 1 + (cols % 7) * 3 + threads;
        TestMatrix m = make_affine(rows, cols, bits, 32, DType::BF16, 7 * cols + bits, 1);
        TestMatrix a = absolute(m);
        for (int64_t tokens = 1; tokens <= 17; tokens += (cols >= 1024 ? 4 : 1)) {
          SCOPED_TRACE(testing::Message() << threads << " threads, " << bits << " bits, K " << cols
                                          << ", T " << tokens);
          const std::vector<float> x = random_input(tokens * cols, 99 + tokens);
          std::vector<float> y(tokens * rows), ref(tokens * rows), scale(tokens * rows);
          matmul(m.w, x.data(), tokens, y.data(), pool);
          reference::matmul(m.w, x.data(), tokens, ref.data());
          reference::matmul(a.w, abs_of(x).data(), tokens, scale.data());
          expect_close(y, ref, scale, 2e-5, "");
        }
      }
    }
  }
}

TEST(Linear, DenseMatchesReference) {
  ThreadPool pool(3);
  for_each_target([&] {
    for (DType dt : {DType::F32, DType::BF16, DType::F16})
      for (int64_t cols : {1, 7, 16, 17, 33, 100, 515})
        for (int64_t rows : {1, 5, 66}) {
          TestMatrix m = make_dense(rows, cols, dt, static_cast<uint32_t>(cols * rows), cols % 3);
          TestMatrix a = absolute(m);
          for (int64_t tokens : {1, 2, 5, 17}) {
            SCOPED_TRACE(testing::Message() << dtype_name(dt) << " " << rows << "x" << cols
                                            << " T " << tokens);
            // Unaligned input rows too.
            std::vector<float> buf = random_input(tokens * cols + 1, 3);
            const float* x = buf.data() + 1;
            std::vector<float> xs(x, x + tokens * cols);
            std::vector<float> y(tokens * rows), ref(tokens * rows), scale(tokens * rows);
            matmul(m.w, x, tokens, y.data(), pool);
            reference::matmul(m.w, xs.data(), tokens, ref.data());
            reference::matmul(a.w, abs_of(xs).data(), tokens, scale.data());
            expect_close(y, ref, scale, 2e-5, "");
          }
        }
  });
}

// Dense rows sum every token in the same order however many tokens share the call: a batch's
// rows equal the tokens' single-token products bit for bit (a verify batch routes as steps do).
TEST(Linear, DenseBatchRowsEqualSingleTokens) {
  ThreadPool pool(2);
  for_each_target([&] {
    for (DType dt : {DType::F32, DType::BF16, DType::F16})
      for (int64_t cols : {64, 100, 2048}) {
        TestMatrix m = make_dense(40, cols, dt, static_cast<uint32_t>(cols), 0);
        for (int64_t tokens : {2, 3, 4, 7}) {
          SCOPED_TRACE(testing::Message() << dtype_name(dt) << " cols " << cols << " T " << tokens);
          const std::vector<float> x = random_input(tokens * cols, 5);
          std::vector<float> batch(tokens * 40), one(40);
          matmul(m.w, x.data(), tokens, batch.data(), pool);
          for (int64_t t = 0; t < tokens; ++t) {
            matmul(m.w, x.data() + t * cols, 1, one.data(), pool);
            ASSERT_TRUE(std::equal(one.begin(), one.end(), batch.begin() + t * 40)) << "token " << t;
          }
        }
      }
  });
}

TEST(LinearInt8, MatchesItsReferenceEveryBitsGroupDtype) {
  // The integer dots are exact on every target; only the float epilogue (Σ_g s·d·dot + β·Σx in
  // float vs double) differs, so the float-path tolerance applies.
  for (int threads : {1, 3}) {
    ThreadPool pool(threads);
    for_each_target([&] {
      for (DType dt : {DType::BF16, DType::F16, DType::F32})
        for (int bits : kBits)
          for (int g : kGroups) {
            const int64_t rows = 29, cols = g == 32 ? 224 : 2 * g;
            SCOPED_TRACE(testing::Message() << threads << " threads, " << bits << " bits, group "
                                            << g << ", " << dtype_name(dt));
            TestMatrix m = make_affine(rows, cols, bits, g, dt, 300 + bits * 5 + g, (bits + 1) % 4);
            TestMatrix a = absolute(m);
            for (int64_t tokens : {1, 2, 5, 17}) {
              const std::vector<float> x = random_input(tokens * cols, 50 + tokens);
              std::vector<float> y(tokens * rows), ref(tokens * rows), scale(tokens * rows);
              matmul(m.w, x.data(), tokens, y.data(), pool, ActivationPrecision::Int8);
              reference::matmul_q8(m.w, x.data(), tokens, ref.data());
              reference::matmul(a.w, abs_of(x).data(), tokens, scale.data());
              expect_close(y, ref, scale, 2e-5, "tokens " + std::to_string(tokens));
            }
          }
    });
  }
}

TEST(LinearInt8, ErrorAgainstFloatWithinActivationRoundingBound) {
  // y_q8 − y = Σ_g s_g Σ_k q_k (d_g x_q[k] − x[k]) and |d_g x_q − x| ≤ d_g / 2, so
  // |y_q8 − y| ≤ Σ_g |s_g| (d_g / 2) Σ_k q_k (+ float rounding).
  ThreadPool pool(2);
  for (int bits : kBits)
    for (int g : kGroups) {
      const int64_t rows = 40, cols = 512;
      TestMatrix m = make_affine(rows, cols, bits, g, DType::BF16, 17 * bits + g, 0);
      TestMatrix a = absolute(m), sq = absolute(m, /*zero_biases=*/true);
      const std::vector<float> x = random_input(cols, bits + g);
      std::vector<int8_t> xq(cols);
      std::vector<float> d(cols / g), half_d(cols);
      reference::quantize_activations_q8(x.data(), cols, g, xq.data(), d.data());
      for (int64_t k = 0; k < cols; ++k) half_d[k] = d[k / g] / 2;
      std::vector<float> y(rows), ref(rows), scale(rows), bound(rows);
      matvec(m.w, x.data(), y.data(), pool, ActivationPrecision::Int8);
      reference::matvec(m.w, x.data(), ref.data());
      reference::matvec(a.w, abs_of(x).data(), scale.data());
      reference::matvec(sq.w, half_d.data(), bound.data());
      double worst = 0;
      for (int64_t n = 0; n < rows; ++n) {
        const double err = std::fabs(double(y[n]) - ref[n]);
        ASSERT_LE(err, bound[n] + 2e-5 * scale[n]) << bits << " bits, group " << g << ", row " << n;
        worst = std::max(worst, err / bound[n]);
      }
      EXPECT_GT(worst, 0.01);  // the activations really were rounded
    }
}

TEST(LinearInt8, ActivationRounding) {
  std::vector<float> x = random_input(96, 8);
  for (int k = 32; k < 64; ++k) x[k] = 0.0f;  // an all-zero group
  std::vector<int8_t> q(96);
  std::vector<float> d(3);
  reference::quantize_activations_q8(x.data(), 96, 32, q.data(), d.data());
  EXPECT_EQ(d[1], 0.0f);
  for (int g = 0; g < 3; ++g) {
    int peak = 0;
    for (int k = 32 * g; k < 32 * (g + 1); ++k) {
      EXPECT_LE(std::fabs(x[k] - d[g] * q[k]), d[g] / 2 * (1 + 1e-6) + 1e-30) << k;
      peak = std::max(peak, std::abs(int(q[k])));
    }
    EXPECT_EQ(peak, g == 1 ? 0 : 127);
  }
}

TEST(LinearInt8, SimdActivationRoundingIsBitIdenticalToReference) {
  constexpr int64_t kCols = 384;  // a multiple of every group size
  std::vector<float> x = random_input(3 * kCols, 21);
  x[5] = 0.5f * x[7];  // exact halves after scaling are where rounding modes differ
  for (int k = 64; k < 128; ++k) x[k] = 0.0f;
  for_each_target([&] {
    for (int g : kGroups) {
      // 5-bit weights read activations in natural order on every target (2-, 3- and 4-bit
      // may not).
      const int64_t padded = simd::q8_padded_cols(5, kCols), groups = kCols / g;
      std::vector<int8_t> q(padded, 99), want(kCols), row(simd::q8_quantize_row_scratch(padded));
      std::vector<float> d(groups), want_d(groups);
      for (int t = 0; t < 3; ++t) {  // one token at a time: no tile interleaving
        simd::q8_quantize_input(5, g, x.data() + t * kCols, 1, kCols, padded, q.data(), d.data(),
                                row.data());
        reference::quantize_activations_q8(x.data() + t * kCols, kCols, g, want.data(), want_d.data());
        for (int k = 0; k < kCols; ++k) ASSERT_EQ(q[k], want[k]) << "t " << t << " k " << k;
        for (int k = kCols; k < padded; ++k) ASSERT_EQ(q[k], 0);
        for (int i = 0; i < groups; ++i) ASSERT_EQ(d[i], want_d[i]);
      }
    }
  });
}

// Inputs whose float product x·(127/m) is exactly a half while the exact product is not: an
// x·inv + 1.5·2^23 that the compiler fuses into one multiply-add rounds those the other way
// (the AVX2 kernels did, off by one code in ~1 of 10^5 activations).
TEST(LinearInt8, SimdRoundsTheFloatProductNotTheExactOne) {
  constexpr int kGroup = 32;
  std::vector<float> x(kGroup, 0.0f);
  x[0] = 3.0f;  // the group's max: inv = fl(127 / 3) is inexact
  const float inv = 127.0f / 3.0f;
  int found = 0;
  for (int k = 1; k < (1 << 22) && found < kGroup - 1; ++k) {
    const float v = std::ldexp(static_cast<float>(k), -21);  // (0, 2): below the max
    const float p = v * inv;
    if (p - std::floor(p) == 0.5f && static_cast<double>(v) * inv != static_cast<double>(p))
      x[1 + found++] = (found % 2 ? -v : v);
  }
  ASSERT_GT(found, 4);
  std::vector<int8_t> want(kGroup);
  float want_d = 0;
  reference::quantize_activations_q8(x.data(), kGroup, kGroup, want.data(), &want_d);
  for_each_target([&] {
    // 5-bit weights read activations in natural order on every target.
    const int64_t padded = simd::q8_padded_cols(5, kGroup);
    std::vector<int8_t> q(padded, 99);
    float d = 0;
    std::vector<int8_t> row(simd::q8_quantize_row_scratch(padded));
    simd::q8_quantize_input(5, kGroup, x.data(), 1, kGroup, padded, q.data(), &d, row.data());
    for (int k = 0; k < kGroup; ++k) ASSERT_EQ(q[k], want[k]) << "k " << k << " x " << x[k];
    EXPECT_EQ(d, want_d);
  });
}

TEST(LinearInt8, ReportsWhetherVnniKernelsRun) {
  if (hwy::SupportedTargets() & HWY_AVX2) {
    hwy::SetSupportedTargetsForTest(HWY_AVX2);
    EXPECT_TRUE(int8_activations_fast());  // the 256-bit byte dot-product kernels
    EXPECT_FALSE(simd::q8_vnni512());
    EXPECT_STREQ(kernel_target(), "AVX2");
    hwy::SetSupportedTargetsForTest(0);
  }
  if (hwy::SupportedTargets() & HWY_SSE4) {
    hwy::SetSupportedTargetsForTest(HWY_SSE4);
    EXPECT_FALSE(int8_activations_fast());  // only the portable loop
    hwy::SetSupportedTargetsForTest(0);
  }
  if (hwy::SupportedTargets() & HWY_AVX3_DL) EXPECT_TRUE(int8_activations_fast());
}

TEST(LinearInt8, DenseWeightsUseFloat) {
  ThreadPool pool(1);
  TestMatrix m = make_dense(8, 64, DType::BF16, 4, 0);
  const std::vector<float> x = random_input(64, 1);
  std::vector<float> a(8), b(8);
  matvec(m.w, x.data(), a.data(), pool, ActivationPrecision::Int8);
  matvec(m.w, x.data(), b.data(), pool);
  EXPECT_EQ(a, b);
}

TEST(Linear, MatvecEqualsOneTokenMatmul) {
  ThreadPool pool(2);
  TestMatrix m = make_affine(50, 256, 4, 64, DType::BF16, 1, 0);
  const std::vector<float> x = random_input(256, 2);
  std::vector<float> a(50), b(50);
  matvec(m.w, x.data(), a.data(), pool);
  matmul(m.w, x.data(), 1, b.data(), pool);
  EXPECT_EQ(a, b);
}

TEST(Linear, BatchEqualsSeparateCalls) {
  ThreadPool pool(2);
  TestMatrix q = make_affine(64, 128, 3, 64, DType::BF16, 11, 1);
  TestMatrix k = make_affine(16, 128, 2, 32, DType::F16, 12, 2);
  TestMatrix d = make_dense(24, 128, DType::BF16, 13, 3);
  const std::vector<float> x = random_input(3 * 128, 4);
  for (auto precision : {ActivationPrecision::F32, ActivationPrecision::Int8}) {
    std::vector<float> yq(3 * 64), yk(3 * 16), yd(3 * 24), sq(yq.size()), sk(yk.size()), sd(yd.size());
    const MatmulJob jobs[] = {{&q.w, x.data(), 3, yq.data()}, {&k.w, x.data(), 3, yk.data()},
                              {&d.w, x.data(), 3, yd.data()}};
    matmul_batch(jobs, pool, precision);
    matmul(q.w, x.data(), 3, sq.data(), pool, precision);
    matmul(k.w, x.data(), 3, sk.data(), pool, precision);
    matmul(d.w, x.data(), 3, sd.data(), pool, precision);
    EXPECT_EQ(yq, sq);
    EXPECT_EQ(yk, sk);
    EXPECT_EQ(yd, sd);
  }
}

TEST(Linear, RejectsBadMatrices) {
  ThreadPool pool(1);
  TestMatrix m = make_affine(4, 64, 4, 64, DType::BF16, 1, 0);
  std::vector<float> x(64), y(4);
  WeightMatrix bad = m.w;
  bad.bits = 7;
  EXPECT_THROW(matvec(bad, x.data(), y.data(), pool), std::invalid_argument);
  bad = m.w;
  bad.group_size = 48;
  EXPECT_THROW(matvec(bad, x.data(), y.data(), pool), std::invalid_argument);
  bad = m.w;
  bad.cols = 96;
  EXPECT_THROW(matvec(bad, x.data(), y.data(), pool), std::invalid_argument);
  bad = m.w;
  bad.scales = nullptr;
  EXPECT_THROW(matvec(bad, x.data(), y.data(), pool), std::invalid_argument);
  bad = m.w;
  bad.dtype = DType::I8;
  EXPECT_THROW(matvec(bad, x.data(), y.data(), pool), std::invalid_argument);
  std::vector<float> out(64 * 2);
  EXPECT_THROW(dequantize_rows(m.w, 3, 2, out.data()), std::out_of_range);
  EXPECT_NO_THROW(dequantize_rows(m.w, 2, 2, out.data()));
}

}  // namespace
}  // namespace tf
