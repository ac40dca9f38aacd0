// Generation through the public API on the tiny random model: the same tokens as the runtime's
// Generator, batched requests equal to each alone, streaming events, logprobs, stops and the
// thinking budget.
#include <gtest/gtest.h>

#include <cmath>
#include <thread>

#include "engine_test_util.h"
#include "model/session.h"
#include "runtime/generator.h"
#include "runtime/loaded_model.h"

namespace tightfit {
namespace {

using test::greedy_request;
using test::tiny_engine;

std::vector<int32_t> generator_greedy(const std::string& prompt, int max_tokens) {
  tf::LoadedModel m = tf::LoadedModel::load(tf::ResolvedModel{.dir = test::tiny_random_dir()}, 2);
  tf::GenerationParams p;
  p.sampler.temperature = 0;
  p.max_tokens = max_tokens;
  p.eos_token_ids = m.eos_token_ids();
  p.sampler.logit_bias = {{test::kImEnd, -1000.0f}, {test::kEndOfText, -1000.0f}};
  tf::Session session(*m.model);
  tf::Generator gen(session, m.tokenizer->tokenizer, p);
  const std::vector<int32_t> ids = m.tokenizer->tokenizer.encode(prompt);
  return gen.run(ids, false, {}).tokens;
}

TEST(EngineGenerate, GreedyEqualsTheRuntimeGenerator) {
  auto engine = tiny_engine();
  const Result r = engine->generate(greedy_request("The quick brown fox", 24));
  EXPECT_EQ(r.stop, StopReason::max_tokens);
  EXPECT_EQ(r.tokens, generator_greedy("The quick brown fox", 24));
  EXPECT_EQ(r.usage.completion_tokens, 24);
  EXPECT_EQ(r.usage.prompt_tokens, static_cast<int64_t>(engine->encode("The quick brown fox").size()));
  EXPECT_EQ(r.text, engine->decode(r.tokens));
}

TEST(EngineGenerate, ConcurrentRequestsProduceWhatEachProducesAlone) {
  const std::vector<std::string> prompts = {"The quick brown fox", "Once upon a time",
                                            "a b c d e f g", "Hello"};
  std::vector<std::vector<int32_t>> alone;
  {
    auto engine = tiny_engine({.parallel = 1});
    for (const std::string& p : prompts) alone.push_back(engine->generate(greedy_request(p, 20)).tokens);
  }
  // Small prefill chunks, so prompts are fed next to other requests' decode steps.
  auto engine = tiny_engine({.parallel = 4, .prefill_chunk = 3});
  std::vector<RequestHandle> handles;
  for (const std::string& p : prompts) handles.push_back(engine->submit(greedy_request(p, 20)));
  for (size_t i = 0; i < prompts.size(); ++i) {
    const Result r = handles[i].wait();
    EXPECT_EQ(r.stop, StopReason::max_tokens) << prompts[i];
    EXPECT_EQ(r.tokens, alone[i]) << prompts[i];
  }
  EXPECT_EQ(engine->stats().requests_total, 4);
  EXPECT_EQ(engine->stats().generated_tokens_total, 80);
}

TEST(EngineGenerate, MoreRequestsThanSlotsQueueAndAllFinish) {
  auto engine = tiny_engine({.parallel = 2});
  std::vector<RequestHandle> handles;
  for (int i = 0; i < 5; ++i) handles.push_back(engine->submit(greedy_request("Hello", 8)));
  const Result first = handles[0].wait();
  for (RequestHandle& h : handles) {
    const Result r = h.wait();
    if (&h != &handles[0]) EXPECT_EQ(r.tokens, first.tokens);
  }
  EXPECT_EQ(engine->stats().requests_active, 0);
  EXPECT_EQ(engine->stats().requests_queued, 0);
}

TEST(EngineGenerate, EventsStreamTextWithTheirTokensAndEndWithDone) {
  auto engine = tiny_engine();
  RequestHandle h = engine->submit(greedy_request("The quick brown fox", 16));
  std::string text;
  std::vector<int32_t> tokens;
  int done = 0;
  while (std::optional<Event> e = h.next()) {
    tokens.insert(tokens.end(), e->tokens.begin(), e->tokens.end());
    if (e->kind == EventKind::done) {
      ++done;
      EXPECT_EQ(e->usage.completion_tokens, 16);
      EXPECT_GT(e->timing.generation_seconds, 0);
    } else {
      EXPECT_FALSE(e->text.empty());
      text += e->text;
    }
  }
  EXPECT_EQ(done, 1);
  EXPECT_TRUE(h.finished());
  EXPECT_FALSE(h.next().has_value());
  EXPECT_EQ(tokens.size(), 16u);
  EXPECT_EQ(text, engine->decode(tokens));
}

TEST(EngineGenerate, LogprobsAreLogSoftmaxOfTheLogitsAndTopIsSorted) {
  auto engine = tiny_engine();
  Request req = greedy_request("The quick brown fox", 6);
  req.sampling.logit_bias.clear();
  req.ignore_eos = true;
  req.logprobs = 5;
  const Result r = engine->generate(req);
  ASSERT_EQ(r.logprobs.size(), r.tokens.size());
  // Greedy without bias: the chosen token is the most likely one.
  std::vector<int32_t> prompt = engine->encode("The quick brown fox");
  for (size_t i = 0; i < r.logprobs.size(); ++i) {
    const TokenLogprob& lp = r.logprobs[i];
    EXPECT_EQ(lp.token, r.tokens[i]);
    ASSERT_EQ(lp.top.size(), 5u);
    EXPECT_EQ(lp.top[0].first, lp.token);
    EXPECT_FLOAT_EQ(lp.top[0].second, lp.logprob);
    for (size_t k = 1; k < lp.top.size(); ++k) EXPECT_GE(lp.top[k - 1].second, lp.top[k].second);
    EXPECT_LE(lp.logprob, 0.0f);
  }
  // The same numbers from score(): log-softmax of the logits of the row before each token.
  std::vector<int32_t> all = prompt;
  all.insert(all.end(), r.tokens.begin(), r.tokens.end() - 1);
  const int32_t vocab = static_cast<int32_t>(engine->info().vocab_size);
  ASSERT_TRUE(engine->score(all, static_cast<int64_t>(prompt.size()) - 1,
                            [&](int64_t row, std::span<const float> logits) {
                              const size_t i = static_cast<size_t>(row) - (prompt.size() - 1);
                              double sum = 0;
                              const int32_t n = vocab;
                              float max = logits[0];
                              for (int32_t v = 0; v < n; ++v) max = std::max(max, logits[v]);
                              for (int32_t v = 0; v < n; ++v) sum += std::exp(logits[v] - max);
                              const double expected = logits[r.tokens[i]] - max - std::log(sum);
                              EXPECT_NEAR(r.logprobs[i].logprob, expected, 1e-4);
                            }));
  double total = 0;
  for (const auto& [id, lp] : r.logprobs[0].top) total += std::exp(lp);
  EXPECT_LE(total, 1.0 + 1e-5);
}

TEST(EngineGenerate, StopStringEndsTheAnswerWithoutIt) {
  auto engine = tiny_engine();
  const Result free_run = engine->generate(greedy_request("The quick brown fox", 24));
  ASSERT_GE(free_run.text.size(), 6u);
  Request req = greedy_request("The quick brown fox", 24);
  const std::string stop = free_run.text.substr(3, 3);
  req.stop = {stop};
  const Result r = engine->generate(req);
  EXPECT_EQ(r.stop, StopReason::stop_string);
  EXPECT_EQ(r.stop_string, stop);
  EXPECT_EQ(r.text, free_run.text.substr(0, free_run.text.find(stop)));
}

TEST(EngineGenerate, ContextFullWhenTheSequenceCannotTakeTheNextToken) {
  auto engine = tiny_engine({.context = 8});
  Request req = greedy_request("", 100);
  req.prompt.clear();
  req.prompt_tokens = {72, 101, 108, 108};
  const Result r = engine->generate(req);
  EXPECT_EQ(r.stop, StopReason::context_full);
  EXPECT_EQ(r.usage.prompt_tokens + r.usage.completion_tokens, 9);  // the last one not fed
  // Without max_tokens the default budget stops at the context instead.
  req.max_tokens.reset();
  EXPECT_EQ(engine->generate(req).stop, StopReason::max_tokens);
}

TEST(EngineGenerate, ThinkingBudgetClosesTheThoughtWithEndThinkTokens) {
  auto engine = tiny_engine();
  Request req = test::chat_request({Message::text("user", "Think about colours.")}, 30);
  req.enable_thinking = true;
  req.sampling.logit_bias.push_back({test::kEndThink, -1000.0f});  // never closes on its own
  const Result unbounded = engine->generate(req);
  EXPECT_TRUE(unbounded.text.empty());
  EXPECT_EQ(unbounded.usage.reasoning_tokens, 30);

  req.thinking_budget = 5;
  const Result r = engine->generate(req);
  ASSERT_GE(r.tokens.size(), 7u);
  const std::vector<int32_t> close = engine->encode("</think>\n\n");
  EXPECT_TRUE(std::equal(close.begin(), close.end(), r.tokens.begin() + 5));
  EXPECT_TRUE(std::equal(unbounded.tokens.begin(), unbounded.tokens.begin() + 5, r.tokens.begin()));
  EXPECT_FALSE(r.text.empty());  // an answer follows the forced close
  EXPECT_LT(r.usage.reasoning_tokens, 30);
}

TEST(EngineGenerate, SeededSamplingIsReproducibleAndSeedsDiffer) {
  auto engine = tiny_engine();
  Request req = greedy_request("The quick brown fox", 16);
  req.sampling.temperature = 1.0f;
  req.sampling.seed = 7;
  const Result a = engine->generate(req);
  RequestHandle b = engine->submit(req);
  req.sampling.seed = 8;
  RequestHandle c = engine->submit(req);
  EXPECT_EQ(b.wait().tokens, a.tokens);
  EXPECT_NE(c.wait().tokens, a.tokens);
}

}  // namespace
}  // namespace tightfit
