// attend_group (SIMD, GQA heads together) against the reference `attend` per head, on every SIMD
// target this CPU has: model head size (256), a long run of keys crossing many blocks, a count
// that is not a multiple of the block, and a dim that falls back to the reference.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "hwy/targets.h"
#include "kernels/ops_attention.h"

namespace tf {
namespace {

TEST(AttendGroup, MatchesAttendPerHeadOnEveryTarget) {
  struct Case {
    int heads, dim;
    int64_t count;
  };
  for (const Case c : {Case{8, 256, 1}, Case{8, 256, 1000}, Case{2, 64, 129}, Case{3, 12, 37}}) {
    const int64_t stride = 2 * c.dim + 16;  // rows of a cache holding two kv heads
    std::mt19937 rng(static_cast<uint32_t>(c.count + c.dim));
    std::normal_distribution<float> n(0.0f, 1.0f);
    std::vector<float> q(c.heads * c.dim), kv(c.count * stride), vals(c.count * stride);
    for (auto& x : q) x = n(rng);
    for (auto& x : kv) x = n(rng);
    for (auto& x : vals) x = n(rng);
    const float scale = 1.0f / std::sqrt(static_cast<float>(c.dim));
    std::vector<float> ref(c.heads * c.dim), scratch(c.count);
    for (int h = 0; h < c.heads; ++h)
      attend(q.data() + h * c.dim, kv.data() + c.dim, vals.data() + c.dim, c.count, stride, c.dim,
             scale, scratch.data(), ref.data() + h * c.dim);
    const int64_t supported = hwy::SupportedTargets();
    for (int64_t bits = supported; bits != 0; bits &= bits - 1) {
      const int64_t target = bits & ~(bits - 1);
      hwy::SetSupportedTargetsForTest(target);
      SCOPED_TRACE(hwy::TargetName(target));
      std::vector<float> out(c.heads * c.dim, -1.0f), scores(c.heads * c.count);
      attend_group(q.data(), c.heads, kv.data() + c.dim, vals.data() + c.dim, c.count, stride,
                   c.dim, scale, scores.data(), out.data());
      for (size_t i = 0; i < out.size(); ++i)
        ASSERT_NEAR(out[i], ref[i], 2e-5) << "heads " << c.heads << " dim " << c.dim << " count "
                                          << c.count << " at " << i;
    }
    hwy::SetSupportedTargetsForTest(0);
  }
}

}  // namespace
}  // namespace tf
