// The prompt cache (a second chat turn restores the first turn's state) and score() (the
// logits and hidden states Session::prefill gives).
#include <gtest/gtest.h>

#include "engine_test_util.h"
#include "model/session.h"
#include "runtime/loaded_model.h"

namespace tightfit {
namespace {

using test::tiny_engine;

std::vector<Message> two_turns(const Result& first_turn) {
  Message answer = Message::text("assistant", first_turn.text);
  answer.reasoning = first_turn.reasoning;
  return {Message::text("system", "You are terse."), Message::text("user", "Name a colour."),
          answer, Message::text("user", "And another one?")};
}

TEST(EnginePromptCache, SecondChatTurnRestoresTheFirstTurnsPrefix) {
  auto engine = tiny_engine();
  Request turn1 = test::chat_request(
      {Message::text("system", "You are terse."), Message::text("user", "Name a colour.")}, 12);
  const Result first = engine->generate(turn1);
  EXPECT_EQ(first.usage.cached_tokens, 0);
  Request turn2 = test::chat_request(two_turns(first), 12);
  const Result cached = engine->generate(turn2);
  EXPECT_GT(cached.usage.cached_tokens, 0);
  EXPECT_LT(cached.usage.cached_tokens, cached.usage.prompt_tokens);
  EXPECT_GE(engine->stats().prompt_cache_hits, 1);
  EXPECT_GT(engine->stats().prompt_cache_bytes, 0u);

  // The same turn with the cache off, and on a fresh engine: the same tokens.
  turn2.use_prompt_cache = false;
  const Result uncached = engine->generate(turn2);
  EXPECT_EQ(uncached.usage.cached_tokens, 0);
  EXPECT_EQ(cached.tokens, uncached.tokens);
  turn2.use_prompt_cache = true;
  EXPECT_EQ(tiny_engine()->generate(turn2).tokens, cached.tokens);
}

TEST(EnginePromptCache, RawPromptExtendingAnEarlierOneStartsFromItsEnd) {
  auto engine = tiny_engine({.prefill_chunk = 4});
  const Result a = engine->generate(test::greedy_request("The quick brown fox", 4));
  const Result b = engine->generate(test::greedy_request("The quick brown fox jumps over", 6));
  EXPECT_EQ(b.usage.cached_tokens, static_cast<int64_t>(engine->encode("The quick brown fox").size()));
  auto fresh = tiny_engine({.prompt_cache_bytes = 0});
  const Result c = fresh->generate(test::greedy_request("The quick brown fox jumps over", 6));
  EXPECT_EQ(c.usage.cached_tokens, 0);
  EXPECT_EQ(b.tokens, c.tokens);
  EXPECT_EQ(fresh->stats().prompt_cache_bytes, 0u);
}

TEST(EnginePromptCache, ByteLimitEvictsTheLeastRecentlyUsed) {
  auto probe = tiny_engine();
  probe->generate(test::greedy_request("The quick brown fox", 2));
  const uint64_t one = probe->stats().prompt_cache_bytes;
  ASSERT_GT(one, 0u);
  auto engine = tiny_engine({.prompt_cache_bytes = one * 3 / 2});
  engine->generate(test::greedy_request("The quick brown fox", 2));
  engine->generate(test::greedy_request("Once upon a time", 2));
  EXPECT_LE(engine->stats().prompt_cache_bytes, one * 3 / 2);
  // The first prompt was evicted: extending it finds nothing.
  EXPECT_EQ(engine->generate(test::greedy_request("The quick brown fox jumps", 2)).usage.cached_tokens, 0);
}

TEST(EnginePromptCache, AStateSavedIntoAnEvictedEntrysBuffersRestoresExactly) {
  auto probe = tiny_engine();
  probe->generate(test::greedy_request("The quick brown fox", 2));
  const uint64_t one = probe->stats().prompt_cache_bytes;
  // Room for about one entry: saving the second prompt evicts the first and reuses its storage
  // (PromptCache::save), which held a longer state than the one written into it.
  auto engine = tiny_engine({.prompt_cache_bytes = one * 3 / 2});
  engine->generate(test::greedy_request("The quick brown fox jumps over the lazy dog", 2));
  engine->generate(test::greedy_request("Once upon a", 2));
  const Result hit = engine->generate(test::greedy_request("Once upon a time there was", 8));
  EXPECT_GT(hit.usage.cached_tokens, 0);
  auto fresh = tiny_engine({.prompt_cache_bytes = 0});
  EXPECT_EQ(hit.tokens, fresh->generate(test::greedy_request("Once upon a time there was", 8)).tokens);
}

TEST(EngineScore, LogitsAndHiddenStatesEqualSessionPrefill) {
  auto engine = tiny_engine({.prefill_chunk = 5});
  const std::vector<int32_t> tokens = engine->encode("The quick brown fox jumps over the lazy dog");
  ASSERT_GT(tokens.size(), 8u);

  tf::LoadedModel m = tf::LoadedModel::load(tf::ResolvedModel{.dir = test::tiny_random_dir()}, 2);
  tf::Session session(*m.model);
  const std::span<const float> ref = session.prefill(tokens, /*all_logits=*/true);
  const size_t V = static_cast<size_t>(m.model->vocab_size());
  const size_t H = static_cast<size_t>(m.model->hidden_size());

  const int64_t first_row = 3;
  std::vector<int64_t> rows;
  std::vector<std::vector<float>> hidden;
  const bool ok = engine->score(
      tokens, first_row,
      [&](int64_t row, std::span<const float> logits) {
        rows.push_back(row);
        ASSERT_EQ(logits.size(), V);
        for (size_t v = 0; v < V; ++v)
          ASSERT_NEAR(logits[v], ref[row * V + v], 1e-4f * (1 + std::abs(ref[row * V + v])))
              << "row " << row << " id " << v;
      },
      [&](int64_t row, std::span<const float> h) {
        EXPECT_EQ(h.size(), H);
        hidden.emplace_back(h.begin(), h.end());
      });
  EXPECT_TRUE(ok);
  ASSERT_EQ(rows.size(), tokens.size() - first_row);
  for (size_t i = 0; i < rows.size(); ++i) EXPECT_EQ(rows[i], first_row + static_cast<int64_t>(i));
  EXPECT_EQ(hidden.size(), rows.size());

  // Scoring again gives the same rows (a fresh sequence each time), also while a request runs.
  Request req = test::greedy_request("Hello", 50);
  RequestHandle h = engine->submit(req);
  std::vector<float> last;
  engine->score(tokens, static_cast<int64_t>(tokens.size()) - 1,
                [&](int64_t, std::span<const float> logits) { last.assign(logits.begin(), logits.end()); });
  for (size_t v = 0; v < V; ++v)
    EXPECT_NEAR(last[v], ref[(tokens.size() - 1) * V + v], 1e-4f * (1 + std::abs(last[v])));
  EXPECT_EQ(h.wait().usage.completion_tokens, 50);
}

TEST(EngineScore, CancelAndBadArguments) {
  auto engine = tiny_engine({.context = 32, .prefill_chunk = 2});
  const std::vector<int32_t> tokens = engine->encode("The quick brown fox jumps");
  std::atomic<bool> cancel{false};
  int rows = 0;
  EXPECT_FALSE(engine->score(tokens, 0, [&](int64_t, std::span<const float>) {
    if (++rows == 2) cancel = true;
  }, {}, &cancel));
  EXPECT_LT(rows, static_cast<int>(tokens.size()));
  const auto none = [](int64_t, std::span<const float>) {};
  EXPECT_THROW(engine->score({}, 0, none), InvalidRequest);
  EXPECT_THROW(engine->score(tokens, static_cast<int64_t>(tokens.size()), none), InvalidRequest);
  EXPECT_THROW(engine->score(std::vector<int32_t>(40, 72), 0, none), InvalidRequest);
  EXPECT_THROW(engine->score(std::vector<int32_t>{1, 9999}, 0, none), InvalidRequest);
  // A callback that throws: the exception reaches the caller, the engine goes on.
  EXPECT_THROW(engine->score(tokens, 0, [](int64_t, std::span<const float>) {
    throw std::runtime_error("callback failed");
  }), std::runtime_error);
  EXPECT_EQ(engine->generate(test::greedy_request("Hello", 2)).usage.completion_tokens, 2);
}

}  // namespace
}  // namespace tightfit
