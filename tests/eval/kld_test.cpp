// KL divergence and perplexity on real forward passes of models/tiny-random, and the saved
// top-k logits file: the top-k KL is exact at k = vocabulary and a lower bound below it; a model
// against itself has KL 0 and top-1 agreement 1; the file round-trips and refuses truncated,
// damaged or foreign files; ppl is exp(mean NLL) computed directly from Engine::score.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "engine/engine_test_util.h"
#include "tightfit/eval.h"

namespace tightfit::eval {
namespace {

const std::string kText = std::string(TIGHTFIT_TEST_DATA) + "/eval/ppl.txt";

std::string read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

std::string scratch(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          ("tightfit-eval-" + std::to_string(::getpid()) + "-" + name)).string();
}

double full_kl(std::span<const float> p_logits, std::span<const float> q_logits) {
  const double zp = log_sum_exp(p_logits), zq = log_sum_exp(q_logits);
  double kl = 0;
  for (size_t i = 0; i < p_logits.size(); ++i)
    kl += std::exp(p_logits[i] - zp) * ((p_logits[i] - zp) - (q_logits[i] - zq));
  return kl;
}

TEST(TopLogits, KeepsTheLargestAndTheRestsMass) {
  const std::vector<float> logits = {0.5f, 3.0f, -1.0f, 2.0f, 2.0f};
  const TopLogits t = TopLogits::of(logits, 2, 2);
  EXPECT_EQ(t.ids, (std::vector<int32_t>{1, 3}));  // ties: the lower id first
  EXPECT_NEAR(t.rest_log_sum_exp, std::log(std::exp(0.5) + std::exp(-1.0) + std::exp(2.0)), 1e-6);
  EXPECT_NEAR(t.log_normalizer(), log_sum_exp(logits), 1e-6);
  EXPECT_NEAR(t.target_logprob, -1.0 - log_sum_exp(logits), 1e-6);
}

TEST(TopLogits, KlIsExactWithTheWholeVocabularyAndALowerBoundBelow) {
  const std::vector<float> p = {1.0f, 0.2f, -0.5f, 2.0f, 0.0f, -2.0f};
  const std::vector<float> q = {0.4f, 0.9f, -0.1f, 1.5f, -0.3f, 0.5f};
  const double exact = full_kl(p, q);
  EXPECT_NEAR(divergence(TopLogits::of(p, 0, 6), q, 0).kl, exact, 1e-6);
  for (int k = 1; k < 6; ++k) {
    const double bound = divergence(TopLogits::of(p, 0, k), q, 0).kl;
    EXPECT_LE(bound, exact + 1e-9) << "k " << k;
    EXPECT_GE(bound, -1e-9);
  }
  EXPECT_NEAR(divergence(TopLogits::of(p, 0, 3), p, 0).kl, 0, 1e-6);
}

TEST(KlDivergence, AModelAgainstItselfIsZeroWithFullAgreement) {
  auto engine = test::tiny_engine();
  const std::vector<int32_t> tokens = engine->encode(read(kText));
  ASSERT_GT(tokens.size(), 60u);
  const WindowOptions w{48, 16};
  const ReferenceLogits ref = collect_reference(*engine, tokens, w, 32);
  ASSERT_EQ(ref.rows.size(), tokens.size() - 1);
  const KldResult r = kl_divergence(*engine, ref);
  EXPECT_TRUE(r.complete);
  EXPECT_EQ(r.tokens, static_cast<int64_t>(tokens.size()) - 1);
  EXPECT_NEAR(r.mean_kl(), 0, 1e-5);
  EXPECT_LT(quantile(r.kl, 1.0), 1e-4);
  EXPECT_EQ(r.same_top_rate(), 1.0);
  EXPECT_NEAR(r.model_nll.mean(), r.reference_nll.mean(), 1e-4);
  EXPECT_NEAR(r.rms_dp(), 0, 1e-5);
}

TEST(Perplexity, IsExpOfTheMeanNllFromScore) {
  auto engine = test::tiny_engine();
  const std::vector<int32_t> tokens = engine->encode(read(kText));
  // One window covering the text: every token after the first, predicted by the row before it.
  double sum = 0;
  engine->score(tokens, 0, [&](int64_t row, std::span<const float> logits) {
    if (row + 1 < static_cast<int64_t>(tokens.size())) sum += log_sum_exp(logits) - logits[tokens[row + 1]];
  });
  const double expected = std::exp(sum / (tokens.size() - 1));
  const PerplexityResult r = perplexity(*engine, tokens, {static_cast<int64_t>(tokens.size()), 0});
  EXPECT_EQ(r.windows, 1);
  EXPECT_EQ(r.nll.count, static_cast<int64_t>(tokens.size()) - 1);
  EXPECT_NEAR(r.nll.perplexity(), expected, 1e-4 * expected);
  EXPECT_GT(r.nll.perplexity_margin95(), 0);
  // Sliding windows score the same tokens with less history: a different but finite value.
  const PerplexityResult slid = perplexity(*engine, tokens, {32, 16});
  EXPECT_EQ(slid.nll.count, r.nll.count);
  EXPECT_TRUE(std::isfinite(slid.nll.perplexity()));
}

TEST(Perplexity, CancelledRunKeepsWhatItScored) {
  auto engine = test::tiny_engine();
  const std::vector<int32_t> tokens = engine->encode(read(kText));
  std::atomic<bool> cancel{false};
  int64_t calls = 0;
  const PerplexityResult r = perplexity(*engine, tokens, {32, 16}, [&](int64_t done, int64_t) {
    if (++calls == 2) cancel = true;  // after the first window
    (void)done;
  }, &cancel);
  EXPECT_FALSE(r.complete);
  EXPECT_GT(r.nll.count, 0);
  EXPECT_LT(r.nll.count, static_cast<int64_t>(tokens.size()) - 1);
}

ReferenceLogits small_reference() {
  ReferenceLogits r;
  r.tokens = {5, 9, 2, 7};
  r.windows = {8, 4};
  r.vocab_size = 16;
  r.k = 3;
  for (int i = 0; i < 3; ++i) {
    std::vector<float> logits(16);
    for (int v = 0; v < 16; ++v) logits[v] = std::sin(0.7f * v + i);
    r.rows.push_back(TopLogits::of(logits, r.tokens[i + 1], r.k));
  }
  return r;
}

TEST(LogitsFile, RoundTrips) {
  const ReferenceLogits r = small_reference();
  const std::string path = scratch("round.tftopk");
  write_reference_logits(path, r);
  const ReferenceLogits back = read_reference_logits(path);
  EXPECT_EQ(back.tokens, r.tokens);
  EXPECT_EQ(back.windows.context, 8);
  EXPECT_EQ(back.windows.stride, 4);
  EXPECT_EQ(back.k, 3);
  EXPECT_EQ(back.vocab_size, 16);
  ASSERT_EQ(back.rows.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(back.rows[i].ids, r.rows[i].ids);
    EXPECT_EQ(back.rows[i].logits, r.rows[i].logits);
    EXPECT_EQ(back.rows[i].rest_log_sum_exp, r.rows[i].rest_log_sum_exp);
    EXPECT_EQ(back.rows[i].target_logprob, r.rows[i].target_logprob);
  }
  // 56 header + 4 tokens × 4 + 3 rows × (8·3 + 8) + 32 checksum
  EXPECT_EQ(std::filesystem::file_size(path), 56u + 16 + 96 + 32);
  std::filesystem::remove(path);
}

void expect_refused(const std::string& bytes, const std::string& needle) {
  const std::string path = scratch("bad.tftopk");
  std::ofstream(path, std::ios::binary) << bytes;
  try {
    read_reference_logits(path);
    ADD_FAILURE() << "accepted a file that should say: " << needle;
  } catch (const InvalidRequest& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
  std::filesystem::remove(path);
}

TEST(LogitsFile, RefusesTruncatedDamagedAndForeignFiles) {
  const std::string path = scratch("good.tftopk");
  write_reference_logits(path, small_reference());
  const std::string good = read(path);
  std::filesystem::remove(path);
  expect_refused(good.substr(0, good.size() - 40), "truncated");
  expect_refused(good.substr(0, 20), "truncated");
  expect_refused(good + "x", "follow the end");
  std::string flipped = good;
  flipped[100] ^= 0x10;
  expect_refused(flipped, "checksum mismatch");
  std::string foreign = good;
  foreign[0] = 'X';
  expect_refused(foreign, "TFTOPK01");
  std::string newer = good;
  newer[8] = 2;
  expect_refused(newer, "version 2");
  EXPECT_THROW(read_reference_logits(scratch("missing.tftopk")), InvalidRequest);
}

TEST(KlDivergence, RefusesAReferenceWithAnotherVocabulary) {
  auto engine = test::tiny_engine();
  ReferenceLogits r = small_reference();  // vocabulary 16, the tiny model has 512
  EXPECT_THROW(kl_divergence(*engine, r), InvalidRequest);
}

}  // namespace
}  // namespace tightfit::eval
