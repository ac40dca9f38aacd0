// MLX affine quantization (spec §5): bit layout, the quantization rule, error bounds.
#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "kernels/linear.h"
#include "quant/mlx_affine.h"

namespace tf {
namespace {

constexpr int kBits[] = {2, 3, 4, 5, 6, 8};
constexpr int kGroups[] = {32, 64, 128};
constexpr DType kScaleTypes[] = {DType::BF16, DType::F16, DType::F32};

// Unit roundoff of the stored scale dtype (half an ulp, relative).
double unit_roundoff(DType t) {
  switch (t) {
    case DType::BF16: return std::ldexp(1.0, -8);
    case DType::F16: return std::ldexp(1.0, -11);
    default: return std::ldexp(1.0, -24);
  }
}

std::vector<float> random_weights(int64_t n, uint32_t seed, float sigma = 0.02f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, sigma);
  std::vector<float> w(n);
  for (auto& v : w) v = normal(rng);
  // A few outliers, as real checkpoints have, so some groups are lopsided.
  std::uniform_int_distribution<int64_t> pick(0, n - 1);
  for (int i = 0; i < n / 97; ++i) w[pick(rng)] *= 12.0f;
  return w;
}

TEST(PackCodes, SpecVector3Bit) {
  const uint8_t codes[8] = {0, 1, 2, 3, 4, 5, 6, 7};
  uint8_t packed[3] = {};
  pack_codes(codes, 8, 3, packed);
  EXPECT_EQ(packed[0], 0x88);
  EXPECT_EQ(packed[1], 0xc6);
  EXPECT_EQ(packed[2], 0xfa);
}

TEST(PackCodes, SpecVector2Bit) {
  uint8_t codes[16];
  for (int i = 0; i < 16; ++i) codes[i] = static_cast<uint8_t>((i % 4 + 1) % 4);  // 1,2,3,0,...
  uint8_t packed[4] = {};
  pack_codes(codes, 16, 2, packed);
  uint32_t word;
  std::memcpy(&word, packed, 4);  // U32 tensors are little-endian
  EXPECT_EQ(word, 0x39393939u);
}

TEST(PackCodes, MatchesBitByBitStreamForEveryWidth) {
  std::mt19937 rng(7);
  for (int bits : kBits) {
    const int count = 64;
    std::vector<uint8_t> codes(count);
    for (auto& c : codes) c = static_cast<uint8_t>(rng() & ((1u << bits) - 1));
    std::vector<uint8_t> packed(count * bits / 8, 0xee), expect(count * bits / 8, 0);
    for (int k = 0; k < count; ++k)
      for (int i = 0; i < bits; ++i)
        if (codes[k] >> i & 1) expect[(k * bits + i) / 8] |= 1 << ((k * bits + i) % 8);
    pack_codes(codes.data(), count, bits, packed.data());
    EXPECT_EQ(packed, expect) << bits << " bits";
    std::vector<uint8_t> back(count);
    unpack_codes(packed.data(), count, bits, back.data());
    EXPECT_EQ(back, codes) << bits << " bits";
  }
}

// Quantizes one group of 32 and returns its codes, scale and bias (F32 scales: no rounding).
struct OneGroup {
  std::vector<uint8_t> codes;
  float scale, bias;
};
OneGroup quantize_group(std::vector<float> w, int bits, AffineRounding r = AffineRounding::HalfEven,
                        DType dt = DType::F32) {
  w.resize(32, w.back());  // pad with a repeat: min and max do not change
  AffineTensors t = affine_quantize(w.data(), 1, 32, {bits, 32, dt, r});
  OneGroup g{std::vector<uint8_t>(32), load_float(t.scales.data(), dt, 0),
             load_float(t.biases.data(), dt, 0)};
  unpack_codes(t.weight.data(), 32, bits, g.codes.data());
  return g;
}

TEST(AffineQuantize, QuantizedRowHasSpecBitLayout) {
  std::vector<float> w3(32), w2(32);
  for (int k = 0; k < 32; ++k) w3[k] = static_cast<float>(7 - k % 8);  // codes 0..7 (s=−1, β=7)
  for (int k = 0; k < 32; ++k) w2[k] = static_cast<float>(3 - (k % 4 + 1) % 4);  // codes 1,2,3,0
  AffineTensors t3 = affine_quantize(w3.data(), 1, 32, {3, 32, DType::BF16});
  ASSERT_EQ(t3.weight.size(), 12u);
  for (int p = 0; p < 4; ++p) {
    EXPECT_EQ(t3.weight[3 * p], 0x88);
    EXPECT_EQ(t3.weight[3 * p + 1], 0xc6);
    EXPECT_EQ(t3.weight[3 * p + 2], 0xfa);
  }
  EXPECT_EQ(load_float(t3.scales.data(), DType::BF16, 0), -1.0f);
  EXPECT_EQ(load_float(t3.biases.data(), DType::BF16, 0), 7.0f);
  AffineTensors t2 = affine_quantize(w2.data(), 1, 32, {2, 32, DType::BF16});
  ASSERT_EQ(t2.weight.size(), 8u);
  for (int i = 0; i < 8; ++i) EXPECT_EQ(t2.weight[i], 0x39);
}

TEST(AffineQuantize, SpecWorkedExampleLowEdge) {
  // §5.1: {−0.30, 0.0, 0.05, 0.20}, 2 bits: edge −0.30, q₀ = −2, s = 0.15, β = −0.30.
  OneGroup g = quantize_group({-0.30f, 0.0f, 0.05f, 0.20f}, 2);
  EXPECT_FLOAT_EQ(g.scale, 0.15f);
  EXPECT_FLOAT_EQ(g.bias, -0.30f);
  EXPECT_EQ(g.codes[0], 0);
  EXPECT_EQ(g.codes[1], 2);
  EXPECT_EQ(g.codes[2], 2);
  EXPECT_EQ(g.codes[3], 3);
  EXPECT_EQ(g.scale * 2 + g.bias, 0.0f);  // 0.0 decodes to exactly 0 here
}

TEST(AffineQuantize, SpecWorkedExampleHighEdgeNegativeScale) {
  // §5.1: {−0.10, 0.0, 0.30, 0.50}: edge 0.50, s₀ = −0.2, q₀ = round(−2.5).
  OneGroup even = quantize_group({-0.10f, 0.0f, 0.30f, 0.50f}, 2, AffineRounding::HalfEven);
  EXPECT_FLOAT_EQ(even.scale, -0.25f);
  EXPECT_FLOAT_EQ(even.bias, 0.50f);
  EXPECT_EQ(std::vector<uint8_t>(even.codes.begin(), even.codes.begin() + 4),
            (std::vector<uint8_t>{2, 2, 1, 0}));
  // Half-away (Metal) rounds q₀ to −3: s = 0.5/−3, and −0.10 clamps to code 3.
  OneGroup away = quantize_group({-0.10f, 0.0f, 0.30f, 0.50f}, 2, AffineRounding::HalfAway);
  EXPECT_FLOAT_EQ(away.scale, 0.5f / -3.0f);
  EXPECT_FLOAT_EQ(away.bias, 0.50f);
  EXPECT_EQ(std::vector<uint8_t>(away.codes.begin(), away.codes.begin() + 4),
            (std::vector<uint8_t>{3, 3, 1, 0}));
}

TEST(AffineQuantize, MetalVariantStartsMaxAtZero) {
  // An all-negative group: the CPU rule spans [−1, −0.5]; the Metal rule spans [−1, 0].
  OneGroup cpu = quantize_group({-1.0f, -0.5f, -0.75f}, 2, AffineRounding::HalfEven);
  EXPECT_FLOAT_EQ(cpu.scale, 1.0f / 6.0f);
  EXPECT_EQ(cpu.codes[1], 3);
  EXPECT_EQ(cpu.codes[2], 2);  // 1.5 → 2 (half-even)
  OneGroup metal = quantize_group({-1.0f, -0.5f, -0.75f}, 2, AffineRounding::HalfAway);
  EXPECT_FLOAT_EQ(metal.scale, 1.0f / 3.0f);
  EXPECT_EQ(metal.codes[1], 2);  // 1.5 → 2 (half-away)
  EXPECT_EQ(metal.codes[2], 1);  // 0.75 → 1
}

TEST(AffineQuantize, ClampedFarEndCanErrByNearlyOneStep) {
  // w_min = −1, w_max = 0.99 (2 bits): q₀ = round(−1.5075) = −2, s = 0.5, β = −1; 0.99 would
  // need code 3.98 → clamped to 3 → decodes to 0.5, an error of 0.49 ≈ |s|, not |s|/2.
  // (MLX's own test bounds the error by |s| for this reason.)
  OneGroup g = quantize_group({-1.0f, 0.99f}, 2);
  EXPECT_FLOAT_EQ(g.scale, 0.5f);
  EXPECT_EQ(g.codes[1], 3);
  const float err = std::fabs(0.99f - (g.scale * 3 + g.bias));
  EXPECT_GT(err, 0.5f * std::fabs(g.scale));
  EXPECT_LE(err, std::fabs(g.scale));
}

// Per group: every code is round((w − β)/s) clamped to [0, n], with u = (w − β)/s ∈ [0, n + 1]
// because |q₀| ≥ n·|edge|/range − 1/2 and range ≤ 2|edge|. So unclamped values err by at most
// |s|/2 and clamped ones by (u − n)|s| ≤ range − n|s| < |s|: err ≤ max(|s|/2, range − n|s|) in
// exact arithmetic. Storing s and β in the scale dtype adds at most u_d·(n|s| + |β|) (u_d = unit
// roundoff: 2^-8 bf16, 2^-11 f16), and fp32 evaluation a few ulps of the group's magnitude.
TEST(AffineQuantize, RoundTripErrorWithinBoundForEveryBitsAndGroup) {
  const int64_t rows = 24, cols = 384;
  const std::vector<float> w = random_weights(rows * cols, 11);
  for (DType dt : kScaleTypes)
    for (int bits : kBits)
      for (int g : kGroups) {
        SCOPED_TRACE(testing::Message() << bits << " bits, group " << g << ", " << dtype_name(dt));
        AffineTensors t = affine_quantize(w.data(), rows, cols, {bits, g, dt});
        std::vector<float> back(rows * cols);
        affine_dequantize_rows(t.weight.data(), t.scales.data(), t.biases.data(), rows, cols, bits,
                               g, dt, back.data());
        const double n = (1 << bits) - 1, ud = unit_roundoff(dt);
        double worst_ratio = 0;  // error / |s| over all groups, to see that the bound is used
        for (int64_t gi = 0; gi < rows * cols / g; ++gi) {
          const float* wg = &w[gi * g];
          const auto [lo, hi] = std::minmax_element(wg, wg + g);
          const double range = double(*hi) - double(*lo);
          const double s = std::fabs(load_float(t.scales.data(), dt, gi)) * (1 + ud);
          const double beta = std::fabs(load_float(t.biases.data(), dt, gi));
          const double mag = std::max(std::fabs(*lo), std::fabs(*hi));
          const double bound = std::max(s / 2, range - n * s / (1 + ud) * (1 - ud)) +
                               ud * (n * s + beta) + 4e-7 * mag;
          for (int j = 0; j < g; ++j) {
            const double err = std::fabs(double(wg[j]) - back[gi * g + j]);
            ASSERT_LE(err, bound) << "group " << gi << " element " << j;
            worst_ratio = std::max(worst_ratio, err / s);
          }
        }
        EXPECT_GT(worst_ratio, 0.3);  // the data does exercise the rounding
      }
}

TEST(AffineQuantize, ZeroIsRepresentedUpToScaleDtypeRounding) {
  // A group holding an exact 0 decodes it to s·(−q₀) + β = 0 in exact arithmetic; after s and β
  // are rounded to the scale dtype the decoded value is off by at most u_d·(|s q₀| + |β|) ≈
  // 2·u_d·|β|. All-zero rows decode to exactly 0.
  const int64_t rows = 16, cols = 256;
  std::vector<float> w = random_weights(rows * cols, 5);
  for (int64_t i = 0; i < rows * cols; i += 7) w[i] = 0.0f;
  for (int64_t k = 0; k < cols; ++k) w[3 * cols + k] = 0.0f;  // one all-zero row
  for (DType dt : kScaleTypes)
    for (int bits : kBits) {
      AffineTensors t = affine_quantize(w.data(), rows, cols, {bits, 64, dt});
      std::vector<float> back(rows * cols);
      affine_dequantize_rows(t.weight.data(), t.scales.data(), t.biases.data(), rows, cols, bits,
                             64, dt, back.data());
      const double ud = unit_roundoff(dt);
      for (int64_t i = 0; i < rows * cols; ++i) {
        if (w[i] != 0.0f) continue;
        const double beta = std::fabs(load_float(t.biases.data(), dt, i / 64));
        EXPECT_LE(std::fabs(back[i]), 2.01 * ud * beta + 1e-30) << "element " << i;
      }
      for (int64_t k = 0; k < cols; ++k) EXPECT_EQ(back[3 * cols + k], 0.0f);
    }
}

TEST(AffineQuantize, ConstantGroupsDecodeExactly) {
  // Range 0: s = ∓ε, q₀ huge, β = c, every code 0 → decodes to β = c (c representable in bf16).
  for (float c : {0.0f, 1.5f, -0.375f, 1024.0f, -3.0e-3f}) {
    const float cb = bf16_to_f32(f32_to_bf16(c));
    std::vector<float> w(64, cb);
    for (auto r : {AffineRounding::HalfEven, AffineRounding::HalfAway})
      for (int bits : kBits) {
        AffineTensors t = affine_quantize(w.data(), 1, 64, {bits, 32, DType::BF16, r});
        std::vector<float> back(64);
        affine_dequantize_rows(t.weight.data(), t.scales.data(), t.biases.data(), 1, 64, bits, 32,
                               DType::BF16, back.data());
        for (float v : back) EXPECT_EQ(v, cb) << "c=" << c << " bits=" << bits;
        for (uint8_t byte : t.weight) EXPECT_EQ(byte, 0);
      }
  }
}

TEST(AffineQuantize, WeightMatrixViewAgreesWithKernelReference) {
  const int64_t rows = 9, cols = 256;
  const std::vector<float> w = random_weights(rows * cols, 3);
  for (DType dt : kScaleTypes)
    for (int bits : kBits)
      for (int g : kGroups) {
        AffineTensors t = affine_quantize(w.data(), rows, cols, {bits, g, dt});
        const WeightMatrix view = t.view();
        ASSERT_EQ(view.row_bytes(), affine_row_bytes(bits, cols));
        std::vector<float> ours(rows * cols), ref(rows * cols);
        affine_dequantize_rows(t.weight.data(), t.scales.data(), t.biases.data(), rows, cols, bits,
                               g, dt, ours.data());
        reference::dequantize_rows(view, 0, rows, ref.data());
        EXPECT_EQ(ours, ref) << bits << " bits, group " << g;
      }
}

TEST(AffineQuantize, SlabsEqualOneShot) {
  // Rows are independent: a converter may quantize a tensor a slab at a time.
  const int64_t rows = 10, cols = 128;
  const std::vector<float> w = random_weights(rows * cols, 9);
  const AffineQuantSpec spec{3, 64, DType::BF16};
  AffineTensors whole = affine_quantize(w.data(), rows, cols, spec);
  std::vector<uint8_t> packed(whole.weight.size()), sc(whole.scales.size()), bi(whole.biases.size());
  const size_t rb = affine_row_bytes(3, cols), sb = 2 * 2;
  affine_quantize_rows(w.data(), 4, cols, spec, packed.data(), sc.data(), bi.data());
  affine_quantize_rows(w.data() + 4 * cols, 6, cols, spec, packed.data() + 4 * rb,
                       sc.data() + 4 * sb, bi.data() + 4 * sb);
  EXPECT_EQ(packed, whole.weight);
  EXPECT_EQ(sc, whole.scales);
  EXPECT_EQ(bi, whole.biases);
}

TEST(AffineQuantize, RejectsBadInput) {
  std::vector<float> w(128, 0.5f);
  EXPECT_THROW(affine_quantize(w.data(), 1, 128, {7, 64}), std::invalid_argument);
  EXPECT_THROW(affine_quantize(w.data(), 1, 128, {4, 48}), std::invalid_argument);
  EXPECT_THROW(affine_quantize(w.data(), 1, 96, {4, 64}), std::invalid_argument);
  EXPECT_THROW(affine_quantize(w.data(), 1, 128, {4, 64, DType::I8}), std::invalid_argument);
  w[70] = std::nanf("");
  try {
    affine_quantize(w.data(), 1, 128, {4, 64});
    FAIL() << "NaN accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("column 70"), std::string::npos) << e.what();
  }
  std::vector<float> big(64, 1e6f);
  big[0] = -1e6f;
  EXPECT_THROW(affine_quantize(big.data(), 1, 64, {4, 64, DType::F16}), std::invalid_argument);
  EXPECT_NO_THROW(affine_quantize(big.data(), 1, 64, {4, 64, DType::BF16}));
}

}  // namespace
}  // namespace tf
