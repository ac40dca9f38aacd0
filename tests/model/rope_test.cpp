// Multimodal RoPE: the interleaved section → frequency assignment (spec §3.6) and angles.
#include <gtest/gtest.h>

#include <cmath>

#include "model/rope.h"

namespace tf {
namespace {

TextConfig rope_config(int head_dim, float factor, std::vector<int> sections, bool interleaved) {
  TextConfig c;
  c.head_dim = head_dim;
  c.partial_rotary_factor = factor;
  c.rope_theta = 1e7;
  c.mrope_section = std::move(sections);
  c.mrope_interleaved = interleaved;
  return c;
}

TEST(MultimodalRope, InterleavedSectionsOfTheFullModel) {
  // 256 · 0.25 = 64 rotary dims, 32 frequencies, sections [11, 11, 10]: H at i ≡ 1 (mod 3),
  // W at i ≡ 2 (mod 3) below 30, T elsewhere (0, 3, …, 30).
  const MultimodalRope rope(rope_config(256, 0.25f, {11, 11, 10}, true));
  ASSERT_EQ(rope.half(), 32);
  int counts[3] = {0, 0, 0};
  for (int i = 0; i < 32; ++i) {
    const int want = i % 3 == 1 ? 1 : (i % 3 == 2 && i < 30) ? 2 : 0;
    EXPECT_EQ(rope.axis(i), want) << i;
    ++counts[rope.axis(i)];
  }
  EXPECT_EQ(counts[0], 11);
  EXPECT_EQ(counts[1], 11);
  EXPECT_EQ(counts[2], 10);
}

TEST(MultimodalRope, ContiguousSectionsWhenNotInterleaved) {
  const MultimodalRope rope(rope_config(32, 0.5f, {3, 3, 2}, false));
  const int want[8] = {0, 0, 0, 1, 1, 1, 2, 2};
  for (int i = 0; i < 8; ++i) EXPECT_EQ(rope.axis(i), want[i]) << i;
}

TEST(MultimodalRope, AnglesReadTheirAxis) {
  const MultimodalRope rope(rope_config(32, 0.25f, {2, 1, 1}, true));  // the tiny fixture
  ASSERT_EQ(rope.half(), 4);
  float c[4], s[4];
  rope.angles({5, 7, 11}, c, s);
  const int64_t pos[4] = {5, 7, 11, 5};  // axes T, H, W, T
  for (int i = 0; i < 4; ++i) {
    const double theta = pos[i] * std::pow(1e7, -2.0 * i / 8);
    EXPECT_NEAR(c[i], std::cos(theta), 1e-7);
    EXPECT_NEAR(s[i], std::sin(theta), 1e-7);
  }
  EXPECT_THROW(MultimodalRope(rope_config(32, 0.25f, {2, 1}, true)), std::runtime_error);
}

}  // namespace
}  // namespace tf
