// The arithmetic under every eval: NLL statistics and the perplexity interval, quantiles, the
// sliding windows (every token but the first scored exactly once), SHA-256 against the FIPS
// 180-4 examples.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "eval/sha256.h"
#include "tightfit/eval.h"

namespace tightfit::eval {
namespace {

TEST(NllStats, PerplexityAndDeltaMethodInterval) {
  NllStats s;
  for (double x : {1.0, 2.0, 3.0, 4.0}) s.add(x);
  EXPECT_DOUBLE_EQ(s.mean(), 2.5);
  // Sample variance 5/3; standard error sqrt(5/3 / 4).
  EXPECT_NEAR(s.standard_error(), std::sqrt(5.0 / 3.0 / 4.0), 1e-12);
  EXPECT_NEAR(s.perplexity(), std::exp(2.5), 1e-12);
  EXPECT_NEAR(s.perplexity_margin95(), 1.96 * std::exp(2.5) * std::sqrt(5.0 / 12.0), 1e-9);
  NllStats one;
  one.add(0.7);
  EXPECT_EQ(one.standard_error(), 0);  // no spread from one token
}

TEST(Quantile, InterpolatesBetweenOrderStatistics) {
  EXPECT_DOUBLE_EQ(quantile({3, 1, 2, 4}, 0.5), 2.5);
  EXPECT_DOUBLE_EQ(quantile({3, 1, 2, 4}, 1.0), 4);
  EXPECT_DOUBLE_EQ(quantile({3, 1, 2, 4}, 0.0), 1);
  EXPECT_TRUE(std::isnan(quantile({}, 0.5)));
}

TEST(LogSumExp, StableForLargeLogits) {
  const std::vector<float> x = {1000.0f, 1000.0f};
  EXPECT_NEAR(log_sum_exp(x), 1000.0 + std::log(2.0), 1e-9);
}

TEST(SlidingWindows, ScoreEveryTokenButTheFirstOnce) {
  for (int64_t n : {2, 5, 10, 11, 37}) {
    for (WindowOptions o : {WindowOptions{4, 0}, WindowOptions{4, 1}, WindowOptions{4, 3}, WindowOptions{8, 7}, WindowOptions{2, 1}}) {
      std::vector<int> scored(n, 0);
      for (const Window& w : sliding_windows(n, o)) {
        EXPECT_LE(w.end - w.begin, o.context);
        EXPECT_GT(w.first_target, w.begin);
        for (int64_t t = w.first_target; t < w.end; ++t) ++scored[t];
      }
      EXPECT_EQ(scored[0], 0);
      for (int64_t t = 1; t < n; ++t) EXPECT_EQ(scored[t], 1) << "n " << n << " token " << t;
    }
  }
}

TEST(SlidingWindows, StrideHalfTheContextByDefault) {
  const auto w = sliding_windows(10, {4, 0});
  ASSERT_GE(w.size(), 2u);
  EXPECT_EQ(w[0].begin, 0);
  EXPECT_EQ(w[0].end, 4);
  EXPECT_EQ(w[0].first_target, 1);
  EXPECT_EQ(w[1].begin, 2);
  EXPECT_EQ(w[1].first_target, 4);  // the second window scores only its new tokens
}

TEST(SlidingWindows, RefusesBadSettings) {
  EXPECT_THROW(sliding_windows(10, {1, 0}), InvalidRequest);
  EXPECT_THROW(sliding_windows(10, {4, 5}), InvalidRequest);
  EXPECT_THROW(sliding_windows(10, {4, 4}), InvalidRequest);  // no overlap: tokens 4, 8 unscored
  EXPECT_THROW(sliding_windows(1, {4, 0}), InvalidRequest);  // one token: nothing to score
}

TEST(Sha256, FipsExamples) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(sha256_hex(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

}  // namespace
}  // namespace tightfit::eval
