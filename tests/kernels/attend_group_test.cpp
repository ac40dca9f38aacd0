// attend_group (SIMD, GQA heads together, online softmax) against the scalar reference, for every
// KV storage type on every SIMD target this CPU has: model head size (256), a long run of keys
// crossing many blocks, counts that are not a multiple of the block, head counts that are not a
// multiple of the head tile, and a dim that falls back to the reference. Then the split form
// (attend_group_partial + merge_attend_partials) against the unsplit one, and the row
// conversions against hand-checked bit patterns.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "hwy/targets.h"
#include "kernels/ops_attention.h"
#include "storage/dtype.h"

namespace tf {
namespace {

constexpr KVType kTypes[] = {KVType::F32, KVType::F16, KVType::BF16};

float bits_float(uint32_t b) {
  float f;
  std::memcpy(&f, &b, 4);
  return f;
}

// Keys and values of `count` rows, `stride` elements apart, stored as `type`; q [heads][dim].
struct Rows {
  std::vector<uint8_t> keys, values;
  std::vector<float> q;
  KVRows view(KVType type, int64_t stride, int dim) const {
    // Rows of the second kv head of a cache holding two (offset dim), like the model's layout.
    const size_t off = static_cast<size_t>(dim) * kv_type_bytes(type);
    return {keys.data() + off, values.data() + off, stride, type};
  }
};

Rows random_rows(KVType type, int heads, int dim, int64_t count, int64_t stride, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> n(0.0f, 1.0f);
  Rows r;
  const size_t eb = kv_type_bytes(type);
  std::vector<float> row(static_cast<size_t>(stride));
  r.keys.resize(static_cast<size_t>(count * stride) * eb);
  r.values.resize(r.keys.size());
  for (int64_t p = 0; p < count; ++p) {
    for (auto& x : row) x = 2.0f * n(rng);  // scores with a spread, so the max matters
    store_kv_row(type, row.data(), stride, r.keys.data() + p * stride * eb);
    for (auto& x : row) x = n(rng);
    store_kv_row(type, row.data(), stride, r.values.data() + p * stride * eb);
  }
  r.q.resize(static_cast<size_t>(heads) * dim);
  for (auto& x : r.q) x = n(rng);
  return r;
}

TEST(KVConversions, HalfPrecisionBitPatterns) {
  EXPECT_EQ(f32_to_f16(1.0f), 0x3c00);
  EXPECT_EQ(f32_to_f16(-2.0f), 0xc000);
  EXPECT_EQ(f32_to_f16(65504.0f), 0x7bff);  // largest finite half
  EXPECT_EQ(f32_to_f16(65519.0f), 0x7bff);  // rounds down to it
  EXPECT_EQ(f32_to_f16(65520.0f), 0x7c00);  // tie to even: infinity
  EXPECT_EQ(f32_to_f16(1e6f), 0x7c00);
  EXPECT_EQ(f32_to_f16(-INFINITY), 0xfc00);
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -24)), 0x0001);                 // smallest subnormal
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -25)), 0x0000);                 // tie to even: zero
  EXPECT_EQ(f32_to_f16(std::ldexp(3.0f, -25)), 0x0002);                 // tie to even: 2
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -14)), 0x0400);                 // smallest normal
  EXPECT_EQ(f32_to_f16(1.0f + std::ldexp(1.0f, -11)), 0x3c00);          // tie to even (down)
  EXPECT_EQ(f32_to_f16(1.0f + std::ldexp(3.0f, -11)), 0x3c02);          // tie to even (up)
  EXPECT_EQ(f32_to_f16(1.0f + std::ldexp(1.0f, -11) + 1e-7f), 0x3c01);  // above the tie
  EXPECT_TRUE(std::isnan(f16_to_f32(f32_to_f16(NAN))));
  // Every half (NaNs aside) survives f16 → f32 → f16.
  for (uint32_t h = 0; h < 0x10000; ++h) {
    if ((h & 0x7c00) == 0x7c00 && (h & 0x3ff)) continue;
    ASSERT_EQ(f32_to_f16(f16_to_f32(static_cast<uint16_t>(h))), h) << std::hex << h;
  }
  EXPECT_EQ(f16_to_f32(0x0001), std::ldexp(1.0f, -24));
  EXPECT_EQ(f16_to_f32(0x3555), bits_float(0x3eaaa000));  // 0.333251953125
}

TEST(KVConversions, BFloat16BitPatterns) {
  EXPECT_EQ(f32_to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(f32_to_bf16(bits_float(0x3f808000)), 0x3f80);             // tie to even (down)
  EXPECT_EQ(f32_to_bf16(bits_float(0x3f818000)), 0x3f82);             // tie to even (up)
  EXPECT_EQ(f32_to_bf16(bits_float(0x3f808001)), 0x3f81);             // above the tie
  EXPECT_EQ(f32_to_bf16(std::numeric_limits<float>::max()), 0x7f80);  // rounds to infinity
  EXPECT_TRUE(std::isnan(bf16_to_f32(f32_to_bf16(NAN))));
  for (uint32_t h = 0; h < 0x10000; ++h) {
    if ((h & 0x7f80) == 0x7f80 && (h & 0x7f)) continue;
    ASSERT_EQ(f32_to_bf16(bf16_to_f32(static_cast<uint16_t>(h))), h) << std::hex << h;
  }
}

TEST(KVConversions, NamesRoundTripAndUnknownNamesAreRejected) {
  for (KVType t : kTypes) EXPECT_EQ(parse_kv_type(kv_type_name(t)), t);
  EXPECT_EQ(kv_type_bytes(KVType::F32), 4u);
  EXPECT_EQ(kv_type_bytes(KVType::F16), 2u);
  EXPECT_THROW(parse_kv_type("q8_0"), std::invalid_argument);
}

TEST(AttendGroup, MatchesReferenceForEveryTypeOnEveryTarget) {
  struct Case {
    int heads, dim;
    int64_t count;
  };
  const Case cases[] = {{8, 256, 1},  {8, 256, 1000}, {8, 256, 33}, {2, 64, 129},
                        {5, 128, 70}, {3, 12, 37},    {1, 32, 2}};
  for (KVType type : kTypes)
    for (const Case c : cases) {
      SCOPED_TRACE(std::string(kv_type_name(type)) + " heads " + std::to_string(c.heads) + " dim " +
                   std::to_string(c.dim) + " count " + std::to_string(c.count));
      const int64_t stride = 2 * c.dim + 16;  // rows of a cache holding two kv heads
      const Rows r = random_rows(type, c.heads, c.dim, c.count, stride,
                                 static_cast<uint32_t>(c.count + c.dim));
      const KVRows kv = r.view(type, stride, c.dim);
      const float scale = 1.0f / std::sqrt(static_cast<float>(c.dim));
      std::vector<float> ref(static_cast<size_t>(c.heads) * c.dim);
      attend_reference(r.q.data(), c.heads, kv, c.count, c.dim, scale, ref.data());
      const int64_t supported = hwy::SupportedTargets();
      for (int64_t bits = supported; bits != 0; bits &= bits - 1) {
        const int64_t target = bits & ~(bits - 1);
        hwy::SetSupportedTargetsForTest(target);
        SCOPED_TRACE(hwy::TargetName(target));
        std::vector<float> out(ref.size(), -1.0f);
        attend_group(r.q.data(), c.heads, kv, c.count, c.dim, scale, out.data());
        // Outputs are averages of unit-variance values: float rounding in another order.
        for (size_t i = 0; i < out.size(); ++i) ASSERT_NEAR(out[i], ref[i], 2e-5) << "at " << i;
      }
      hwy::SetSupportedTargetsForTest(0);
    }
}

// The f16 path equals the f32 path on the same (widened) rows: conversion is exact, so only the
// reduction order could differ, and it does not.
TEST(AttendGroup, HalfRowsEqualTheirWidenedFloatRows) {
  const int heads = 8, dim = 256;
  const int64_t count = 300, stride = 2 * dim;
  const Rows h = random_rows(KVType::F16, heads, dim, count, stride, 9);
  Rows f;
  f.q = h.q;
  f.keys.resize(static_cast<size_t>(count * stride) * 4);
  f.values.resize(f.keys.size());
  load_kv_row(KVType::F16, h.keys.data(), count * stride, reinterpret_cast<float*>(f.keys.data()));
  load_kv_row(KVType::F16, h.values.data(), count * stride,
              reinterpret_cast<float*>(f.values.data()));
  std::vector<float> a(heads * dim), b(heads * dim);
  attend_group(h.q.data(), heads, h.view(KVType::F16, stride, dim), count, dim, 0.0625f, a.data());
  attend_group(f.q.data(), heads, f.view(KVType::F32, stride, dim), count, dim, 0.0625f, b.data());
  EXPECT_EQ(a, b);
}

// Flash-decoding: partials over disjoint ranges (some empty, some not block-aligned) merge into
// the unsplit result up to float rounding; a single part merges into exactly the unsplit result.
TEST(AttendGroup, SplitPartialsMergeIntoTheWholeRun) {
  const int heads = 8, dim = 256;
  const int64_t count = 2000, stride = 2 * dim;
  for (KVType type : kTypes) {
    SCOPED_TRACE(kv_type_name(type));
    const Rows r = random_rows(type, heads, dim, count, stride, 11);
    const KVRows kv = r.view(type, stride, dim);
    const float scale = 0.0625f;
    std::vector<float> whole(heads * dim);
    attend_group(r.q.data(), heads, kv, count, dim, scale, whole.data());

    for (const std::vector<int64_t> cuts : {std::vector<int64_t>{0, count},
                                            {0, 1, 777, 777, 1500, count},
                                            {0, 500, 1000, 1500, count}}) {
      const int parts = static_cast<int>(cuts.size()) - 1;
      std::vector<float> acc(static_cast<size_t>(parts) * heads * dim), m(parts * heads),
          l(parts * heads), merged(heads * dim);
      for (int i = 0; i < parts; ++i)
        attend_group_partial(r.q.data(), heads, kv, cuts[i], cuts[i + 1], dim, scale,
                             acc.data() + i * heads * dim, m.data() + i * heads,
                             l.data() + i * heads);
      merge_attend_partials(parts, heads, dim, acc.data(), m.data(), l.data(), merged.data());
      if (parts == 1) {
        EXPECT_EQ(merged, whole);
        continue;
      }
      for (size_t i = 0; i < merged.size(); ++i)
        ASSERT_NEAR(merged[i], whole[i], 1e-6f + 2e-6f * std::fabs(whole[i]))
            << parts << " parts, at " << i;
    }
    // An empty range: max −inf, sum 0, accumulator 0.
    std::vector<float> acc(heads * dim, 1.0f), m(heads, 0.0f), l(heads, 1.0f);
    attend_group_partial(r.q.data(), heads, kv, 5, 5, dim, scale, acc.data(), m.data(), l.data());
    for (int h = 0; h < heads; ++h) {
      EXPECT_EQ(m[h], -INFINITY);
      EXPECT_EQ(l[h], 0.0f);
    }
    EXPECT_TRUE(std::all_of(acc.begin(), acc.end(), [](float x) { return x == 0.0f; }));
  }
}

// Large score gaps between blocks (a later block's max far above the earlier ones) exercise the
// rescaling of what was accumulated; the output must follow the late, dominant row.
TEST(AttendGroup, LaterLargerScoresRescaleEarlierBlocks) {
  const int heads = 2, dim = 64;
  const int64_t count = 200, stride = dim;
  std::vector<float> keys(count * stride, 0.01f), values(count * stride), q(heads * dim, 1.0f);
  for (int64_t p = 0; p < count; ++p)
    for (int i = 0; i < dim; ++i) values[p * stride + i] = static_cast<float>(p);
  for (int i = 0; i < dim; ++i) keys[150 * stride + i] = 2.0f;  // score 128 vs 0.64 elsewhere
  const KVRows kv{keys.data(), values.data(), stride, KVType::F32};
  std::vector<float> out(heads * dim), ref(heads * dim);
  attend_group(q.data(), heads, kv, count, dim, 1.0f, out.data());
  attend_reference(q.data(), heads, kv, count, dim, 1.0f, ref.data());
  for (size_t i = 0; i < out.size(); ++i) {
    EXPECT_NEAR(out[i], 150.0f, 1e-3f);
    EXPECT_NEAR(out[i], ref[i], 1e-4f);
  }
}

}  // namespace
}  // namespace tf
