// Sampler: each knob on hand-made logits, the edge cases, determinism and a frequency check.
#include "runtime/sampler.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "runtime/logits_processors.h"

namespace tf {
namespace {

// Softmax in double, the expected distribution when no filter is on.
std::vector<double> softmax(const std::vector<float>& logits, double temperature = 1.0) {
  const double top = *std::max_element(logits.begin(), logits.end());
  std::vector<double> p(logits.size());
  double sum = 0.0;
  for (size_t i = 0; i < logits.size(); ++i) sum += p[i] = std::exp((logits[i] - top) / temperature);
  for (double& v : p) v /= sum;
  return p;
}

// Logits whose temperature-1 probabilities are exactly `probs` (up to rounding).
std::vector<float> logits_for(const std::vector<double>& probs) {
  std::vector<float> out;
  for (double p : probs) out.push_back(static_cast<float>(std::log(p)));
  return out;
}

SamplerConfig sampling(float temperature = 1.0f) {
  SamplerConfig c;
  c.temperature = temperature;
  c.seed = 1234;
  return c;
}

std::vector<double> dist(const SamplerConfig& c, const std::vector<float>& logits,
                         const std::vector<int32_t>& history = {}, int32_t vocab = -1) {
  Sampler s(c, vocab < 0 ? static_cast<int32_t>(logits.size()) : vocab);
  return s.distribution(logits, history);
}

void expect_near(const std::vector<double>& got, const std::vector<double>& want,
                 double tol = 1e-6) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], tol) << "id " << i;
}

TEST(Random, Mt19937_64IsTheStandardSequenceAndUniformIsInRange) {
  // The C++ standard fixes the 10000th output of a default-seeded mt19937_64.
  std::mt19937_64 rng;
  rng.discard(9999);
  EXPECT_EQ(rng(), 9981545732273789042ull);
  std::mt19937_64 r2(7);
  double lo = 1.0, hi = 0.0, sum = 0.0;
  for (int i = 0; i < 10000; ++i) {
    const double u = uniform_unit(r2);
    lo = std::min(lo, u);
    hi = std::max(hi, u);
    sum += u;
  }
  EXPECT_GE(lo, 0.0);
  EXPECT_LT(hi, 1.0);
  EXPECT_NEAR(sum / 10000, 0.5, 0.02);
}

TEST(Sampler, GreedyPicksArgmaxAndLowestIdOnTies) {
  SamplerConfig c;  // default: temperature 0
  EXPECT_TRUE(c.greedy());
  Sampler s(c, 5);
  std::vector<float> logits{0.1f, 3.0f, -1.0f, 2.0f, 0.0f};
  EXPECT_EQ(s.sample(logits, {}), 1);
  std::vector<float> tie{1.0f, 5.0f, 2.0f, 5.0f, 5.0f};
  EXPECT_EQ(s.sample(tie, {}), 1);
  expect_near(s.distribution(tie, {}), {0, 1, 0, 0, 0});
}

TEST(Sampler, PaddingRowsBeyondTheTokenizerAreNeverSampled) {
  // Head rows 4 and 5 are padding (spec §3.8): huge values there must be ignored.
  std::vector<float> logits{0.0f, 1.0f, 0.5f, 0.2f, 100.0f, 100.0f};
  Sampler greedy(SamplerConfig{}, 4);
  EXPECT_EQ(greedy.sample(logits, {}), 1);
  Sampler s(sampling(), 4);
  auto p = s.distribution(logits, {});
  ASSERT_EQ(p.size(), 6u);
  EXPECT_EQ(p[4], 0.0);
  EXPECT_EQ(p[5], 0.0);
  EXPECT_NEAR(p[0] + p[1] + p[2] + p[3], 1.0, 1e-12);
  for (int i = 0; i < 200; ++i) EXPECT_LT(s.sample(logits, {}), 4);
}

TEST(Sampler, InvalidLogitsAreAnErrorNotAToken) {
  Sampler s(sampling(), 3);
  Sampler g(SamplerConfig{}, 3);
  std::vector<float> with_nan{0.0f, NAN, 1.0f};
  EXPECT_THROW(s.sample(with_nan, {}), std::runtime_error);
  EXPECT_THROW(g.sample(with_nan, {}), std::runtime_error);
  std::vector<float> with_inf{0.0f, INFINITY, 1.0f};
  EXPECT_THROW(g.sample(with_inf, {}), std::runtime_error);
  std::vector<float> all_masked{-INFINITY, -INFINITY, -INFINITY};
  EXPECT_THROW(s.sample(all_masked, {}), std::runtime_error);
  std::vector<float> too_short{0.0f, 1.0f};
  EXPECT_THROW(s.sample(too_short, {}), std::runtime_error);
  // NaN in a padding row is not looked at.
  std::vector<float> nan_in_padding{0.0f, 2.0f, 1.0f, NAN};
  EXPECT_EQ(g.sample(nan_in_padding, {}), 1);
  // -inf is a legitimate "banned" value.
  std::vector<float> one_banned{-INFINITY, 0.0f, 0.0f};
  EXPECT_EQ(s.distribution(one_banned, {})[0], 0.0);
}

TEST(Sampler, TemperatureOneIsSoftmaxAndOthersSharpenOrFlatten) {
  std::vector<float> logits{2.0f, 1.0f, 0.0f, -1.0f};
  expect_near(dist(sampling(1.0f), logits), softmax(logits));
  auto cold = dist(sampling(0.5f), logits);
  auto hot = dist(sampling(2.0f), logits);
  expect_near(cold, softmax(logits, 0.5));
  expect_near(hot, softmax(logits, 2.0));
  EXPECT_GT(cold[0], softmax(logits)[0]);
  EXPECT_LT(hot[0], softmax(logits)[0]);
  // A tiny temperature behaves like greedy without overflowing.
  auto frozen = dist(sampling(1e-30f), logits);
  EXPECT_NEAR(frozen[0], 1.0, 1e-12);
}

TEST(Sampler, TopKKeepsTheKBestAndLargeKIsOff) {
  std::vector<float> logits{0.0f, 3.0f, 1.0f, 2.0f, -1.0f};
  auto c = sampling();
  c.top_k = 2;
  auto p = dist(c, logits);
  std::vector<float> kept{3.0f, 2.0f};
  auto q = softmax(kept);
  expect_near(p, {0, q[0], 0, q[1], 0});
  c.top_k = 1;
  expect_near(dist(c, logits), {0, 1, 0, 0, 0});
  c.top_k = 100;  // larger than the vocabulary: no filtering
  expect_near(dist(c, logits), softmax(logits));
  c.top_k = 5;
  expect_near(dist(c, logits), softmax(logits));
}

TEST(Sampler, TopPKeepsTheSmallestNucleusAndOneIsOff) {
  auto logits = logits_for({0.5, 0.3, 0.15, 0.05});
  auto c = sampling();
  c.top_p = 0.75f;  // 0.5 < 0.75 <= 0.8: two tokens
  expect_near(dist(c, logits), {0.625, 0.375, 0, 0});
  c.top_p = 0.9f;  // 0.8 < 0.9 <= 0.95: three tokens
  expect_near(dist(c, logits), {0.5 / 0.95, 0.3 / 0.95, 0.15 / 0.95, 0});
  c.top_p = 0.1f;  // less than the best token alone: still keeps it
  expect_near(dist(c, logits), {1, 0, 0, 0});
  c.top_p = 1.0f;
  expect_near(dist(c, logits), {0.5, 0.3, 0.15, 0.05});
}

TEST(Sampler, MinPDropsTokensBelowAFractionOfTheBestAndZeroIsOff) {
  auto logits = logits_for({0.5, 0.3, 0.15, 0.05});
  auto c = sampling();
  c.min_p = 0.2f;  // threshold 0.1: drops 0.05
  expect_near(dist(c, logits), {0.5 / 0.95, 0.3 / 0.95, 0.15 / 0.95, 0});
  c.min_p = 0.5f;  // threshold 0.25
  expect_near(dist(c, logits), {0.625, 0.375, 0, 0});
  c.min_p = 1.0f;  // only the best
  expect_near(dist(c, logits), {1, 0, 0, 0});
  c.min_p = 0.0f;
  expect_near(dist(c, logits), {0.5, 0.3, 0.15, 0.05});
}

TEST(Sampler, AllEqualLogitsAreUniformAndFiltersBreakTiesByLowestId) {
  std::vector<float> logits(6, 0.25f);
  expect_near(dist(sampling(), logits), std::vector<double>(6, 1.0 / 6));
  auto c = sampling(0.7f);
  c.top_k = 2;
  expect_near(dist(c, logits), {0.5, 0.5, 0, 0, 0, 0});
  c.top_k = 0;
  c.top_p = 0.5f;  // three tokens reach 0.5
  expect_near(dist(c, logits), {1.0 / 3, 1.0 / 3, 1.0 / 3, 0, 0, 0});
  c.top_p = 1.0f;
  c.min_p = 1.0f;  // every token equals the best: all kept
  expect_near(dist(c, logits), std::vector<double>(6, 1.0 / 6));
}

TEST(Sampler, TemperatureIsAppliedBeforeTopPAsInTransformers) {
  // At T=1 the two best hold 0.45 + 0.35 = 0.8 < 0.85, so top_p 0.85 keeps three tokens; at
  // T=0.5 the best two hold more than 0.85, so only two survive. mlx-lm's order (truncate at
  // T=1) would keep three in both cases.
  auto logits = logits_for({0.45, 0.35, 0.15, 0.05});
  auto c = sampling(1.0f);
  c.top_p = 0.85f;
  auto p1 = dist(c, logits);
  EXPECT_GT(p1[2], 0.0);
  c.temperature = 0.5f;
  auto p2 = dist(c, logits);
  EXPECT_EQ(p2[2], 0.0);
  EXPECT_EQ(p2[3], 0.0);
  EXPECT_NEAR(p2[0], 0.45 * 0.45 / (0.45 * 0.45 + 0.35 * 0.35), 1e-6);
}

TEST(Sampler, TopKThenTopPThenMinPCompose) {
  auto logits = logits_for({0.4, 0.25, 0.15, 0.1, 0.06, 0.04});
  auto c = sampling();
  c.top_k = 4;     // 0.4 0.25 0.15 0.1 (mass 0.9)
  c.top_p = 0.8f;  // renormalised: 0.444 0.278 0.167 → three reach 0.889
  c.min_p = 0.5f;  // p >= 0.5 * 0.4: 0.4 and 0.25 only
  expect_near(dist(c, logits), {0.4 / 0.65, 0.25 / 0.65, 0, 0, 0, 0});
}

TEST(Sampler, TopPOnALargeVocabularyMatchesABruteForceNucleus) {
  // The sampler sorts only as much of the row as the nucleus needs; check it against a full sort.
  const int32_t vocab = 50000;
  std::mt19937_64 rng(99);
  std::vector<float> logits(vocab + 123);
  for (float& v : logits) v = static_cast<float>(uniform_unit(rng) * 8.0);
  auto c = sampling(0.8f);
  c.top_p = 0.9f;
  auto got = dist(c, logits, {}, vocab);

  std::vector<float> real(logits.begin(), logits.begin() + vocab);
  auto p = softmax(real, 0.8);
  std::vector<int32_t> order(vocab);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int32_t a, int32_t b) {
    return real[a] > real[b] || (real[a] == real[b] && a < b);
  });
  double cumulative = 0.0;
  size_t keep = 0;
  while (keep < order.size() && cumulative < 0.9) cumulative += p[order[keep++]];
  ASSERT_GT(keep, 1000u);  // the nucleus is large: the progressive sort had to grow
  std::vector<double> want(logits.size(), 0.0);
  for (size_t i = 0; i < keep; ++i) want[order[i]] = p[order[i]] / cumulative;
  expect_near(got, want, 1e-9);
}

TEST(Sampler, RepetitionPenaltyDividesPositiveAndMultipliesNegativeLogitsInTheWindow) {
  std::vector<float> logits{2.0f, -1.0f, 1.0f, 0.5f};
  apply_repetition_penalty(logits, std::vector<int32_t>{0, 1, 0, 0, 99, -3}, 2.0f);
  EXPECT_FLOAT_EQ(logits[0], 1.0f);  // once, although seen three times
  EXPECT_FLOAT_EQ(logits[1], -2.0f);
  EXPECT_FLOAT_EQ(logits[2], 1.0f);
  EXPECT_FLOAT_EQ(logits[3], 0.5f);

  // Through the sampler: only the last `repetition_context_size` tokens count.
  SamplerConfig c;  // greedy
  c.repetition_penalty = 4.0f;
  c.repetition_context_size = 2;
  Sampler s(c, 3);
  std::vector<float> row{2.0f, 1.5f, 1.0f};
  EXPECT_EQ(s.sample(row, std::vector<int32_t>{0, 2, 2}), 0);  // 0 is outside the window
  EXPECT_EQ(s.sample(row, std::vector<int32_t>{2, 0}), 1);     // 2/4 = 0.5 < 1.5
  c.repetition_context_size = 0;  // whole history
  Sampler all(c, 3);
  EXPECT_EQ(all.sample(row, std::vector<int32_t>{0, 2, 2}), 1);
}

TEST(Sampler, PresenceAndFrequencyPenaltiesSubtractPerTokenAndPerOccurrence) {
  std::vector<float> logits{1.0f, 1.0f, 1.0f};
  apply_presence_frequency_penalty(logits, std::vector<int32_t>{0, 0, 0, 1}, 0.5f, 0.25f);
  EXPECT_FLOAT_EQ(logits[0], 1.0f - 0.5f - 0.75f);
  EXPECT_FLOAT_EQ(logits[1], 1.0f - 0.5f - 0.25f);
  EXPECT_FLOAT_EQ(logits[2], 1.0f);

  auto c = sampling();
  c.presence_penalty = 1.5f;
  c.penalty_context_size = 3;
  std::vector<float> row{0.0f, 0.0f, 0.0f};
  auto p = dist(c, row, {0, 1, 1, 1});  // window: 1 1 1 → only id 1 is penalised
  EXPECT_NEAR(p[0], p[2], 1e-12);
  EXPECT_NEAR(p[1] / p[0], std::exp(-1.5), 1e-9);
}

TEST(Sampler, LogitBiasShiftsAndMinusInfinityBans) {
  auto c = sampling();
  c.logit_bias = {{2, std::log(3.0f)}, {0, -INFINITY}};
  std::vector<float> row{5.0f, 0.0f, 0.0f};
  expect_near(dist(c, row), {0, 0.25, 0.75});
  SamplerConfig greedy;
  greedy.logit_bias = {{0, -INFINITY}};
  EXPECT_EQ(Sampler(greedy, 3).sample(row, {}), 1);
  greedy.logit_bias = {{3, 1.0f}};
  EXPECT_THROW(Sampler(greedy, 3), std::invalid_argument);  // outside the tokenizer
  greedy.logit_bias = {{0, -INFINITY}, {1, -INFINITY}, {2, -INFINITY}};
  Sampler banned(greedy, 3);
  EXPECT_THROW(banned.sample(row, {}), std::runtime_error);
}

TEST(Sampler, SameSeedSameTokensDifferentSeedDifferentTokens) {
  std::vector<float> logits(50);
  for (size_t i = 0; i < logits.size(); ++i) logits[i] = static_cast<float>(i % 7) * 0.1f;
  auto c = sampling(1.0f);
  c.top_p = 0.95f;
  c.seed = 42;
  Sampler a(c, 50), b(c, 50);
  c.seed = 43;
  Sampler other(c, 50);
  std::vector<int32_t> ta, tb, to;
  for (int i = 0; i < 200; ++i) {
    ta.push_back(a.sample(logits, ta));
    tb.push_back(b.sample(logits, tb));
    to.push_back(other.sample(logits, to));
  }
  EXPECT_EQ(ta, tb);
  EXPECT_NE(ta, to);
  a.reseed(42);
  std::vector<int32_t> again;
  for (int i = 0; i < 200; ++i) again.push_back(a.sample(logits, again));
  EXPECT_EQ(again, ta);
}

TEST(Sampler, SampleFrequenciesMatchTheDistribution) {
  auto logits = logits_for({0.4, 0.25, 0.15, 0.1, 0.06, 0.04});
  auto c = sampling(0.8f);
  c.top_k = 5;
  Sampler s(c, 6);
  const auto p = s.distribution(logits, {});
  const int n = 40000;
  std::vector<int> count(6, 0);
  for (int i = 0; i < n; ++i) ++count[s.sample(logits, {})];
  EXPECT_EQ(count[5], 0);  // removed by top_k
  double chi2 = 0.0;
  for (int i = 0; i < 5; ++i) {
    const double expected = p[i] * n;
    const double sigma = std::sqrt(n * p[i] * (1 - p[i]));
    EXPECT_NEAR(count[i], expected, 5 * sigma) << "id " << i;
    chi2 += (count[i] - expected) * (count[i] - expected) / expected;
  }
  // 4 degrees of freedom: P(chi2 > 23.5) < 1e-4.
  EXPECT_LT(chi2, 23.5);
}

TEST(Sampler, ConstructorRejectsBadSettingsNamingTheFlag) {
  auto expect_flag = [](SamplerConfig c, const std::string& flag) {
    try {
      Sampler s(c, 10);
      ADD_FAILURE() << "no error for " << flag;
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(flag), std::string::npos) << e.what();
    }
  };
  SamplerConfig c;
  c.temperature = -1.0f;
  expect_flag(c, "--temp");
  c = {};
  c.top_p = 0.0f;
  expect_flag(c, "--top-p");
  c = {};
  c.top_p = 1.5f;
  expect_flag(c, "--top-p");
  c = {};
  c.min_p = -0.1f;
  expect_flag(c, "--min-p");
  c = {};
  c.top_k = -2;
  expect_flag(c, "--top-k");
  c = {};
  c.repetition_penalty = 0.0f;
  expect_flag(c, "--repetition-penalty");
  c = {};
  c.repetition_context_size = -1;
  expect_flag(c, "--repetition-context-size");
  c = {};
  c.presence_penalty = NAN;
  expect_flag(c, "--presence-penalty");
  EXPECT_THROW(Sampler(SamplerConfig{}, 0), std::invalid_argument);
}

}  // namespace
}  // namespace tf
