// Engine::score_continuations: the shared prefix runs once and each continuation starts from its
// checkpoint, giving the rows score() gives for prefix + continuation (the base class's
// one-score()-per-continuation path), across prefill chunks, while requests run, and refusing
// bad arguments.
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "engine_test_util.h"

namespace tightfit {
namespace {

using test::tiny_engine;
using Rows = std::map<std::pair<size_t, int64_t>, std::vector<float>>;

Rows shared_rows(Engine& engine, std::span<const int32_t> prefix,
                 const std::vector<std::vector<int32_t>>& continuations, bool shared) {
  Rows rows;
  auto keep = [&](size_t c, int64_t row, std::span<const float> logits) {
    EXPECT_TRUE(rows.emplace(std::pair(c, row), std::vector<float>(logits.begin(), logits.end())).second);
  };
  // The base class's definition is the unshared path: one score() per continuation.
  const bool done = shared ? engine.score_continuations(prefix, continuations, keep)
                           : engine.Engine::score_continuations(prefix, continuations, keep);
  EXPECT_TRUE(done);
  return rows;
}

void expect_same_rows(const Rows& a, const Rows& b) {
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [key, logits] : a) {
    const std::vector<float>& other = b.at(key);
    ASSERT_EQ(logits.size(), other.size());
    for (size_t v = 0; v < logits.size(); ++v)
      ASSERT_NEAR(logits[v], other[v], 1e-4f * (1 + std::abs(other[v])))
          << "continuation " << key.first << " row " << key.second << " id " << v;
  }
}

TEST(EngineScoreContinuations, EqualScoreOfPrefixPlusEachContinuation) {
  // A prefill chunk of 3: the prefix and the longer continuations each span several chunks.
  auto engine = tiny_engine({.prefill_chunk = 3});
  const std::vector<int32_t> prefix = engine->encode("Question: which colour is the sky?\nAnswer:");
  const std::vector<std::vector<int32_t>> continuations = {
      engine->encode(" blue"), engine->encode(" green like grass in spring"), engine->encode(" red")};
  const Rows shared = shared_rows(*engine, prefix, continuations, true);
  size_t expected_rows = 0;
  for (const auto& c : continuations) expected_rows += c.size();
  EXPECT_EQ(shared.size(), expected_rows);
  expect_same_rows(shared, shared_rows(*engine, prefix, continuations, false));

  // While a request decodes in the same batches, and with no prefix at all.
  RequestHandle running = engine->submit(test::greedy_request("Hello", 30));
  expect_same_rows(shared_rows(*engine, prefix, continuations, true), shared);
  expect_same_rows(shared_rows(*engine, {}, continuations, true), shared_rows(*engine, {}, continuations, false));
  EXPECT_EQ(running.wait().usage.completion_tokens, 30);
}

TEST(EngineScoreContinuations, CancelAndBadArguments) {
  auto engine = tiny_engine({.context = 32, .prefill_chunk = 2});
  const std::vector<int32_t> prefix = engine->encode("The quick brown fox");
  const auto none = [](size_t, int64_t, std::span<const float>) {};
  EXPECT_TRUE(engine->score_continuations(prefix, {}, none));
  const std::vector<std::vector<int32_t>> empty_one = {{72}, {}};
  EXPECT_THROW(engine->score_continuations(prefix, empty_one, none), InvalidRequest);
  const std::vector<std::vector<int32_t>> too_long = {std::vector<int32_t>(40, 72)};
  EXPECT_THROW(engine->score_continuations(prefix, too_long, none), InvalidRequest);
  const std::vector<std::vector<int32_t>> bad_id = {{1, 9999}};
  EXPECT_THROW(engine->score_continuations(prefix, bad_id, none), InvalidRequest);
  const std::vector<int32_t> bad_prefix = {9999};
  const std::vector<std::vector<int32_t>> one = {{72}};
  EXPECT_THROW(engine->score_continuations(bad_prefix, one, none), InvalidRequest);

  std::atomic<bool> cancel{false};
  int rows = 0;
  const std::vector<std::vector<int32_t>> three = {{72, 73, 74}, {75, 76, 77}, {78, 79, 80}};
  EXPECT_FALSE(engine->score_continuations(prefix, three, [&](size_t, int64_t, std::span<const float>) {
    if (++rows == 2) cancel = true;
  }, &cancel));
  EXPECT_LT(rows, 9);
  // A callback that throws: the exception reaches the caller, the engine goes on.
  EXPECT_THROW(engine->score_continuations(prefix, three, [](size_t, int64_t, std::span<const float>) {
    throw std::runtime_error("callback failed");
  }), std::runtime_error);
  EXPECT_EQ(engine->generate(test::greedy_request("Hello", 2)).usage.completion_tokens, 2);
}

}  // namespace
}  // namespace tightfit
