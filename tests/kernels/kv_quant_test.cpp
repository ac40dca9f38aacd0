// Quantized KV rows (kernels/kv_quant.h) and attention over them (kernels/ops_attention.h):
// the row format against hand-checked bytes and its error bound, the SIMD kernel against the
// scalar reference on every SIMD target, and the attention error against a float cache on random
// inputs per bit width (bounds stated in docs/kernels.md).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "kernels/kv_quant.h"
#include "kernels/ops_attention.h"
#include "simd_targets.h"
#include "storage/dtype.h"

namespace tf {
namespace {

constexpr KVType kQuantTypes[] = {KVType::Q8, KVType::Q4, KVType::Q2};

TEST(KVQuant, RowBytesAndNames) {
  // Qwen3.5-35B-A3B: 256-wide heads, groups of 64.
  EXPECT_EQ(kv_row_bytes(KVType::Q8, 256, 64), 256u + 16u);
  EXPECT_EQ(kv_row_bytes(KVType::Q4, 256, 64), 128u + 16u);
  EXPECT_EQ(kv_row_bytes(KVType::Q2, 256, 64), 64u + 16u);
  EXPECT_EQ(kv_row_bytes(KVType::F16, 256, 64), 512u);
  for (KVType t : kQuantTypes) EXPECT_EQ(parse_kv_type(kv_type_name(t)), t);
  EXPECT_EQ(kv_type_for_bits(8), KVType::Q8);
  EXPECT_EQ(kv_type_for_bits(16), KVType::F16);
  EXPECT_EQ(kv_type_for_bits(32), KVType::F32);
  EXPECT_THROW(kv_type_for_bits(3), std::invalid_argument);
  EXPECT_THROW(validate_kv_row(KVType::Q4, 256, 48), std::invalid_argument);
  EXPECT_THROW(validate_kv_row(KVType::Q4, 96, 64), std::invalid_argument);
  EXPECT_NO_THROW(validate_kv_row(KVType::Q2, 32, 32));
  EXPECT_NO_THROW(validate_kv_row(KVType::F16, 12, 48));  // float types ignore the group
  EXPECT_EQ(kv_group_for(64, 32), 32);
  EXPECT_EQ(kv_group_for(64, 256), 64);
}

// 4-bit, one group of 32 holding 0..15 twice: bias 0, scale 1, codes exact; element e in byte
// e mod 16 at bits 4·(e div 16).
TEST(KVQuant, FourBitLayoutByHand) {
  std::vector<float> x(32);
  for (int e = 0; e < 32; ++e) x[e] = static_cast<float>(e % 16);
  std::vector<uint8_t> row(kv_row_bytes(KVType::Q4, 32, 32));
  store_kv_row(KVType::Q4, x.data(), 32, row.data(), 32);
  for (int b = 0; b < 16; ++b) EXPECT_EQ(row[b], (b << 4) | b) << b;
  uint16_t scale, bias;
  std::memcpy(&scale, row.data() + 16, 2);
  std::memcpy(&bias, row.data() + 18, 2);
  EXPECT_EQ(bf16_to_f32(scale), 1.0f);
  EXPECT_EQ(bf16_to_f32(bias), 0.0f);
  std::vector<float> back(32);
  load_kv_row(KVType::Q4, row.data(), 32, back.data(), 32);
  EXPECT_EQ(back, x);
}

// Every element is within half a step of its value (the directed rounding of the bf16 scale and
// bias keeps the group's range inside the codes'); a NaN poisons only its own group.
TEST(KVQuant, ErrorIsAtMostHalfAStep) {
  std::mt19937 rng(3);
  std::normal_distribution<float> n(0.0f, 1.0f);
  for (KVType t : kQuantTypes)
    for (int group : {32, 64, 128}) {
      SCOPED_TRACE(std::string(kv_type_name(t)) + " group " + std::to_string(group));
      const int dim = 256, bits = kv_quant_bits(t);
      std::vector<float> x(dim), back(dim);
      for (int trial = 0; trial < 20; ++trial) {
        const float shift = trial % 2 ? 3.0f : -5.0f;  // ranges away from zero on both sides
        for (float& v : x) v = n(rng) * (1.0f + trial) + shift;
        std::vector<uint8_t> row(kv_row_bytes(t, dim, group));
        store_kv_row(t, x.data(), dim, row.data(), group);
        load_kv_row(t, row.data(), dim, back.data(), group);
        for (int g = 0; g < dim / group; ++g) {
          float lo = x[g * group], hi = lo;
          for (int e = 0; e < group; ++e) {
            lo = std::min(lo, x[g * group + e]);
            hi = std::max(hi, x[g * group + e]);
          }
          const float step = (hi - lo) / ((1 << bits) - 1);
          for (int e = 0; e < group; ++e)
            ASSERT_LE(std::fabs(back[g * group + e] - x[g * group + e]),
                      0.5f * step * 1.01f + 1e-2f * std::fabs(lo) / 128)
                << "element " << g * group + e;
        }
      }
      x.assign(dim, 1.0f);
      x[1] = NAN;
      std::vector<uint8_t> row(kv_row_bytes(t, dim, group));
      store_kv_row(t, x.data(), dim, row.data(), group);
      load_kv_row(t, row.data(), dim, back.data(), group);
      EXPECT_TRUE(std::isnan(back[0]));
      EXPECT_EQ(back[group], 1.0f);
    }
}

// The query side of Int8 key dots: symmetric int8 with the group's max at ±127, round to
// nearest even, and the float sum; an all-zero group has scale 0.
TEST(KVQuant, QueryGroupsQuantizeSymmetrically) {
  const float q[4] = {-2.54f, 1.27f, 0.01f, 0.5f};
  int8_t qi[4];
  float d = 0, sum = 0;
  quantize_query_group(q, 4, qi, &d, &sum);
  EXPECT_FLOAT_EQ(d, 2.54f / 127);
  EXPECT_FLOAT_EQ(sum, -2.54f + 1.27f + 0.01f + 0.5f);
  EXPECT_EQ(qi[0], -127);
  EXPECT_EQ(qi[1], 64);  // 63.5 rounds to even
  EXPECT_EQ(qi[2], 0);   // 0.5 rounds to even
  EXPECT_EQ(qi[3], 25);
  const float zero[4] = {};
  quantize_query_group(zero, 4, qi, &d, &sum);
  EXPECT_EQ(d, 0.0f);
  for (int8_t v : qi) EXPECT_EQ(v, 0);
}

// int8_query_key_dot is the dot of the dequantized query (d·qi) with the dequantized key row:
// the decomposition Σ_g s_g·d_g·Σ qi·c + β_g·Σ q holds up to float rounding at every width and
// group, planes included.
TEST(KVQuant, Int8QueryDotIsTheDotOfTheDequantizedRows) {
  std::mt19937 rng(5);
  std::normal_distribution<float> n(0.0f, 1.0f);
  for (KVType t : kQuantTypes)
    for (int group : {32, 64, 128}) {
      SCOPED_TRACE(std::string(kv_type_name(t)) + " group " + std::to_string(group));
      const int dim = 256, groups = dim / group;
      std::vector<float> k(dim), q(dim), kd(dim);
      for (float& v : k) v = n(rng) + 0.5f;
      for (float& v : q) v = n(rng);
      std::vector<uint8_t> row(kv_row_bytes(t, dim, group));
      store_kv_row(t, k.data(), dim, row.data(), group);
      load_kv_row(t, row.data(), dim, kd.data(), group);
      std::vector<int8_t> qi(dim);
      std::vector<float> d(groups), sum(groups);
      for (int g = 0; g < groups; ++g)
        quantize_query_group(&q[g * group], group, &qi[g * group], &d[g], &sum[g]);
      // The same dot from the dequantized query (d·qi) against the dequantized key, in double;
      // the bias term uses the float sum of q, not of d·qi, so add β_g·(Σ q − Σ d·qi) per group.
      double want = 0, size = 0;
      for (int e = 0; e < dim; ++e) {
        want += static_cast<double>(d[e / group]) * qi[e] * kd[e];
        size += std::fabs(q[e] * kd[e]);
      }
      // β_g is the dequantized value of code 0.
      std::vector<uint8_t> zero_codes = row;
      std::fill(zero_codes.begin(), zero_codes.begin() + dim * kv_quant_bits(t) / 8, 0);
      std::vector<float> beta(dim);
      load_kv_row(t, zero_codes.data(), dim, beta.data(), group);
      for (int g = 0; g < groups; ++g) {
        double dq = 0;
        for (int e = 0; e < group; ++e) dq += static_cast<double>(d[g]) * qi[g * group + e];
        want += beta[g * group] * (sum[g] - dq);
      }
      const float got = int8_query_key_dot(kv_quant_bits(t), group, qi.data(), d.data(),
                                           sum.data(), row.data(), dim, dim);
      EXPECT_NEAR(got, want, 1e-5 * size);
    }
}

// The value side's int16 weights: the weighted sum of a block of rows is Σ w_p v_p (the rows
// dequantized, in double) to within the rounding of the weights, Σ_p (d_g / 2)·|c − m| ≤
// n·d_g·m / 2 per element with d_g = max_p |w_p s_{p,g}| / 32767 — and not exactly (the test
// can tell the int16 weights from float ones).
TEST(KVQuant, Int16WeightedValuesAreTheWeightedRowsToTheStatedBound) {
  std::mt19937 rng(7);
  std::normal_distribution<float> n(0.0f, 1.0f);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  for (KVType t : kQuantTypes)
    for (int group : {32, 64, 128})
      for (int rows : {1, 7, 32}) {
        SCOPED_TRACE(std::string(kv_type_name(t)) + " group " + std::to_string(group) +
                     " rows " + std::to_string(rows));
        const int dim = 256, bits = kv_quant_bits(t), m = 1 << (bits - 1);
        const size_t rb = kv_row_bytes(t, dim, group);
        std::vector<uint8_t> data(rows * rb);
        std::vector<float> values(static_cast<size_t>(rows) * dim), w(rows), x(dim);
        std::vector<const uint8_t*> at(rows);
        for (int p = 0; p < rows; ++p) {
          for (float& v : x) v = n(rng);
          store_kv_row(t, x.data(), dim, data.data() + p * rb, group);
          load_kv_row(t, data.data() + p * rb, dim, values.data() + p * dim, group);
          at[p] = data.data() + p * rb;
          w[p] = u(rng);
        }
        std::vector<float> got(dim, 0.5f);  // adds to what is there
        int16_weighted_values(bits, group, w.data(), at.data(), rows, dim, dim, got.data());
        double worst_excess = -1, inexact = 0;
        for (int g = 0; g < dim / group; ++g) {
          double amax = 0;
          for (int p = 0; p < rows; ++p) {
            uint16_t s;
            std::memcpy(&s, at[p] + static_cast<size_t>(dim) * bits / 8 + 2 * g, 2);
            amax = std::max(amax, std::fabs(static_cast<double>(w[p]) * bf16_to_f32(s)));
          }
          const double bound = rows * (amax / 32767) * m / 2 + 1e-5;
          for (int e = g * group; e < (g + 1) * group; ++e) {
            double want = 0.5;
            for (int p = 0; p < rows; ++p) want += static_cast<double>(w[p]) * values[p * dim + e];
            worst_excess = std::max(worst_excess, std::fabs(got[e] - want) - bound);
            inexact += std::fabs(got[e] - want);
          }
        }
        EXPECT_LE(worst_excess, 0.0);
        if (rows > 1) EXPECT_GT(inexact, 0.0);
      }
}

struct QuantRows {
  std::vector<uint8_t> keys, values;
  std::vector<float> fkeys, fvalues, q;  // the float rows quantized
};

// Keys N(0.5, key_sd²), values and queries N(0, 1).
QuantRows random_quant_rows(KVType type, int heads, int dim, int64_t count, int group,
                            uint32_t seed, float key_sd = 2.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> n(0.0f, 1.0f);
  QuantRows r;
  const size_t rb = kv_row_bytes(type, dim, group);
  r.keys.resize(count * rb);
  r.values.resize(count * rb);
  r.fkeys.resize(count * dim);
  r.fvalues.resize(count * dim);
  for (int64_t p = 0; p < count; ++p) {
    for (int i = 0; i < dim; ++i) r.fkeys[p * dim + i] = key_sd * n(rng) + 0.5f;
    for (int i = 0; i < dim; ++i) r.fvalues[p * dim + i] = n(rng);
    store_kv_row(type, &r.fkeys[p * dim], dim, r.keys.data() + p * rb, group);
    store_kv_row(type, &r.fvalues[p * dim], dim, r.values.data() + p * rb, group);
  }
  r.q.resize(static_cast<size_t>(heads) * dim);
  for (float& x : r.q) x = n(rng);
  return r;
}

struct AttendCase {
  int heads, dim, group;
  int64_t count;
};

// attend_group and its split form on every SIMD target against the reference of the path each
// runs (float scores, or Int8 key scores with int16 or float value weights); returns how many
// targets took the Int8 path.
int ExpectEveryTargetMatchesItsReference(const QuantRows& r, KVType type, const AttendCase& c) {
  const KVRows kv{r.keys.data(), r.values.data(), c.dim, type, c.group};
  const float scale = 1.0f / std::sqrt(static_cast<float>(c.dim));
  std::vector<float> float_ref(static_cast<size_t>(c.heads) * c.dim), int8_ref(float_ref),
      int8_float_values_ref(float_ref);
  attend_reference(r.q.data(), c.heads, kv, c.count, c.dim, scale, float_ref.data());
  attend_reference_int8_query(r.q.data(), c.heads, kv, c.count, c.dim, scale,
                              int8_ref.data(), true);
  attend_reference_int8_query(r.q.data(), c.heads, kv, c.count, c.dim, scale,
                              int8_float_values_ref.data(), false);
  // The Int8 path rounds each value weight to int16 (int16_weighted_values); its softmax
  // weights come from the kernel's own exponentials, so a weight at a rounding tie may round
  // the other way than in the reference: one step, ≤ m · s / 32767 (weights ≤ 1, m the
  // middle code, s the largest group scale — bounded by the float rows' group ranges).
  const int bits = kv_quant_bits(type);
  float max_scale = 0.0f;
  for (int64_t p = 0; p < c.count; ++p)
    for (int g = 0; g < c.dim / c.group; ++g) {
      const float* v = &r.fvalues[p * c.dim + g * c.group];
      const auto [lo, hi] = std::minmax_element(v, v + c.group);
      max_scale = std::max(max_scale, 1.01f * (*hi - *lo) / ((1 << bits) - 1));
    }
  const double int16_step = (1 << (bits - 1)) * max_scale / 32767.0;
  int int8_targets = 0;
  test::for_each_target([&] {
    // Targets with Int8 dots score keys against the int8 query: their own reference.
    const bool int8 = attend_group_int8_keys(c.heads, kv, c.dim);
    const bool int16 = attend_group_int16_values(c.heads, kv, c.dim);
    int8_targets += int8;
    const std::vector<float>& ref =
        !int8 ? float_ref : int16 ? int8_ref : int8_float_values_ref;
    const double tolerance = 2e-5 + (int16 ? int16_step : 0.0);
    std::vector<float> out(ref.size(), -1.0f);
    attend_group(r.q.data(), c.heads, kv, c.count, c.dim, scale, out.data());
    for (size_t i = 0; i < out.size(); ++i) ASSERT_NEAR(out[i], ref[i], tolerance) << "at " << i;
    // The split form too (flash-decoding across threads); the Int8 path at a block
    // boundary, where it rounds the value weights as one pass does (kAttendBlockRows).
    const int64_t cut = int16 ? c.count / 3 / kAttendBlockRows * kAttendBlockRows : c.count / 3;
    std::vector<float> acc(2 * ref.size()), m(2 * c.heads), l(2 * c.heads),
        merged(ref.size());
    attend_group_partial(r.q.data(), c.heads, kv, 0, cut, c.dim, scale, acc.data(), m.data(),
                         l.data());
    attend_group_partial(r.q.data(), c.heads, kv, cut, c.count, c.dim, scale,
                         acc.data() + ref.size(), m.data() + c.heads, l.data() + c.heads);
    merge_attend_partials(2, c.heads, c.dim, acc.data(), m.data(), l.data(), merged.data());
    for (size_t i = 0; i < out.size(); ++i) ASSERT_NEAR(merged[i], ref[i], tolerance) << i;
  });
  // The int8 reference is not the float one (else this test could not tell the paths apart;
  // one row is its own value whatever the scores).
  double diff = 0;
  for (size_t i = 0; i < float_ref.size(); ++i) diff += std::fabs(float_ref[i] - int8_ref[i]);
  if (c.count > 1) EXPECT_GT(diff, 0.0);
  return int8_targets;
}

TEST(AttendGroupQuantized, MatchesReferenceOnEveryTarget) {
  const AttendCase cases[] = {{8, 256, 64, 1},   {8, 256, 64, 1000}, {8, 256, 32, 33},
                              {8, 256, 128, 70}, {5, 128, 64, 129},  {3, 32, 32, 37}};
  for (KVType type : kQuantTypes)
    for (const AttendCase c : cases) {
      SCOPED_TRACE(std::string(kv_type_name(type)) + " heads " + std::to_string(c.heads) +
                   " dim " + std::to_string(c.dim) + " group " + std::to_string(c.group) +
                   " count " + std::to_string(c.count));
      const QuantRows r = random_quant_rows(type, c.heads, c.dim, c.count, c.group, c.count);
      const int int8_targets = ExpectEveryTargetMatchesItsReference(r, type, c);
      std::printf("[ %s heads %d dim %d group %d: %d target(s) with Int8 keys ]\n",
                  kv_type_name(type), c.heads, c.dim, c.group, int8_targets);
    }
}

// The largest integer sums an Int8 key path meets: keys whose codes are mostly the top code
// (row p: element e is 1, code 2^b − 1, unless e mod 8 ≥ p mod 8 + 1, then 0, code 0 — the
// last row of every 8 all top codes) against queries of ±1 (every int8 query byte ±127). The
// AVX2 path adds vpmaddubsw's int16 pair sums in runs sized so they cannot overflow (8 quads
// of 4-bit codes: 8 · 2 · 15 · 127 = 30,480; 8-bit codes against the query's high nibbles, 8
// dwords: 8 · 2 · 255 · 8 = 32,640 — split at 3 bits instead, 8 · 2 · 255 · 16 overflows and
// this test fails); a run one quad longer would saturate here and
// pull the full rows' scores (16 at scale 1/√256) towards those of the rows with 7/8 top codes
// (14), which moves the softmax weights far beyond the tolerance.
TEST(AttendGroupQuantized, Int8KeyScoresStayExactAtTheLargestSums) {
  for (KVType type : kQuantTypes)
    for (const AttendCase c : {AttendCase{8, 256, 64, 40}, AttendCase{8, 256, 128, 40}}) {
      SCOPED_TRACE(std::string(kv_type_name(type)) + " group " + std::to_string(c.group));
      QuantRows r = random_quant_rows(type, c.heads, c.dim, c.count, c.group, 5);
      const size_t rb = kv_row_bytes(type, c.dim, c.group);
      for (int64_t p = 0; p < c.count; ++p) {
        float* k = &r.fkeys[p * c.dim];
        for (int e = 0; e < c.dim; ++e) k[e] = e % 8 < p % 8 + 1 ? 1.0f : 0.0f;
        store_kv_row(type, k, c.dim, r.keys.data() + p * rb, c.group);
      }
      for (int h = 0; h < c.heads; ++h)
        std::fill(r.q.begin() + h * c.dim, r.q.begin() + (h + 1) * c.dim, h % 2 ? -1.0f : 1.0f);
      ExpectEveryTargetMatchesItsReference(r, type, c);
    }
}

// Relative L2 error of the attention output over a quantized cache vs the same rows in f32, over
// random cases at the model's shapes: 256-wide heads, groups of 64, keys of unit spread (like
// normed keys) and scale 1/√256, so scores spread ≈ 1. Stated bounds (docs/kernels.md), about
// 1.3× the measured error, per kernel: float scores, and Int8 key scores (the query rounded to
// int8 per group adds its own error, visible at 8 bits only).
TEST(AttendGroupQuantized, ErrorAgainstAFloatCacheIsBoundedPerWidth) {
  struct Bound {
    KVType type;
    double rel_l2, int8_rel_l2;
  };
  const int heads = 8, dim = 256, group = 64;
  const int64_t count = 512;
  // Measured: float scores 0.0077 (q8), 0.127 (q4), 0.743 (q2); Int8 key scores 0.0096, 0.127,
  // 0.743. Random values have no structure, so this is the codes' step over the spread of the
  // values, averaged by the softmax.
  for (const Bound b : {Bound{KVType::Q8, 0.01, 0.0125}, Bound{KVType::Q4, 0.165, 0.165},
                        Bound{KVType::Q2, 0.95, 0.95}}) {
    SCOPED_TRACE(kv_type_name(b.type));
    std::vector<QuantRows> cases;
    for (uint32_t seed = 1; seed <= 4; ++seed)
      cases.push_back(random_quant_rows(b.type, heads, dim, count, group, seed, 1.0f));
    bool printed[2] = {false, false};
    test::for_each_target([&] {
      double err = 0, norm = 0;
      bool int8 = false;
      for (const QuantRows& r : cases) {
        const KVRows quant{r.keys.data(), r.values.data(), dim, b.type, group};
        const KVRows exact{r.fkeys.data(), r.fvalues.data(), dim, KVType::F32, group};
        int8 = attend_group_int8_keys(heads, quant, dim);
        std::vector<float> a(heads * dim), e(heads * dim);
        const float scale = 1.0f / 16;
        attend_group(r.q.data(), heads, quant, count, dim, scale, a.data());
        attend_group(r.q.data(), heads, exact, count, dim, scale, e.data());
        for (size_t i = 0; i < a.size(); ++i) {
          err += (a[i] - e[i]) * (a[i] - e[i]);
          norm += e[i] * e[i];
        }
      }
      const double rel = std::sqrt(err / norm);
      if (!printed[int8])
        std::printf("[ attention rel-L2 %s vs f32, %s scores: %.4f ]\n", kv_type_name(b.type),
                    int8 ? "Int8 key" : "float", rel);
      printed[int8] = true;
      EXPECT_LT(rel, int8 ? b.int8_rel_l2 : b.rel_l2);
      EXPECT_GT(rel, 0.0);  // it is quantized at all
    });
  }
}

}  // namespace
}  // namespace tf
