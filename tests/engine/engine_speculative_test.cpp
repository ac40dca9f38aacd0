// Speculative decoding through the public API (docs/engine.md "Speculative decoding"): the
// scheduler drafts with the MTP head, verifies the drafts in the batched forward and keeps the
// accepted prefix. On the trained model (models/tiny-qwen35) and the MTP fixture's "copy" model
// (tests/data/tiny-qwen35moe-mtp, which accepts most drafts):
//  - greedy output equals plain greedy output token for token, for long outputs and every k;
//  - batched beside a plain request, both equal what each gives alone;
//  - max_tokens is exact when a step accepts several tokens, a stop string inside a step's
//    tokens ends the output where plain decoding ends it, logprobs equal plain ones;
//  - cancelling a speculative request mid-generation ends it, the engine goes on;
//  - usage.speculative counts drafts per position (constrained output, thinking budgets and
//    images: engine_speculative_features_test.cpp);
//  - a model without a head, or bad values, are refused naming the field.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <numeric>
#include <optional>
#include <string>

#include "engine_test_util.h"
#include "speculative_test_util.h"

namespace tightfit {
namespace {

namespace fs = std::filesystem;
using test::copy_model;
using test::greedy_request;
using test::tiny_engine;

const std::string kData = std::string(TIGHTFIT_TEST_DATA);

// models/tiny-qwen35: the trained model, which keeps its MTP head.
std::string trained_model() { return kData + "/../../models/tiny-qwen35"; }

std::unique_ptr<Engine> trained_engine(EngineOptions o = {}) {
  o.model = trained_model();
  if (o.threads == 0) o.threads = 2;
  return Engine::load(std::move(o));
}

// Greedy, EOS never sampled: the output runs to max_tokens (the trained model's ids).
Request trained_request(std::string prompt, int max_tokens, std::optional<int> drafts) {
  Request r;
  r.prompt = std::move(prompt);
  r.max_tokens = max_tokens;
  r.sampling.temperature = 0;
  r.ignore_eos = true;
  r.loop_guard = false;
  r.draft_tokens = drafts;
  return r;
}

Request copy_request(int max_tokens, std::optional<int> drafts) {
  Request r = greedy_request("hello there, how are you", max_tokens);
  r.loop_guard = false;
  r.draft_tokens = drafts;
  return r;
}

// The InvalidRequest that submit throws, or nothing.
std::optional<InvalidRequest> refusal(Engine& engine, const Request& request) {
  try {
    RequestHandle h = engine.submit(request);
  } catch (const InvalidRequest& e) {
    return e;
  }
  return std::nullopt;
}

int64_t sum(const std::vector<int64_t>& v) { return std::accumulate(v.begin(), v.end(), int64_t{0}); }

void expect_consistent_counters(const SpeculativeUsage& s, int k) {
  EXPECT_GT(s.steps, 0);
  ASSERT_EQ(s.proposed_at.size(), static_cast<size_t>(k));
  ASSERT_EQ(s.accepted_at.size(), static_cast<size_t>(k));
  EXPECT_EQ(sum(s.proposed_at), s.drafts_proposed);
  EXPECT_EQ(sum(s.accepted_at), s.drafts_accepted);
  for (int j = 0; j < k; ++j) EXPECT_LE(s.accepted_at[j], s.proposed_at[j]);
  // A later position is only reached when every earlier draft of its step was accepted.
  for (int j = 1; j < k; ++j) EXPECT_LE(s.accepted_at[j], s.accepted_at[j - 1]);
}

TEST(EngineSpeculative, GreedyEqualsPlainOnTheTrainedModelForLongOutputs) {
  auto engine = trained_engine();
  ASSERT_TRUE(engine->info().has_mtp);
  const std::string prompt = "The jury said that the city";
  const Result plain = engine->generate(trained_request(prompt, 160, 0));
  ASSERT_EQ(plain.tokens.size(), 160u);
  EXPECT_EQ(plain.usage.speculative.steps, 0);
  for (int k : {1, 2, 3, 4}) {
    const Result spec = engine->generate(trained_request(prompt, 160, k));
    EXPECT_EQ(spec.tokens, plain.tokens) << "k = " << k;
    EXPECT_EQ(spec.text, plain.text) << "k = " << k;
    EXPECT_EQ(spec.stop, StopReason::max_tokens);
    EXPECT_EQ(spec.usage.completion_tokens, 160);
    expect_consistent_counters(spec.usage.speculative, k);
    EXPECT_GT(spec.usage.speculative.drafts_accepted, 0) << "the trained head agrees sometimes";
    // Fewer verify steps than tokens: the accepted drafts came for free.
    EXPECT_LT(spec.usage.speculative.steps, 159) << "k = " << k;
  }
}

TEST(EngineSpeculative, GreedyEqualsPlainOnTheMtpFixture) {
  auto engine = Engine::load({.model = copy_model("fixture"), .threads = 2});
  const Result plain = engine->generate(copy_request(120, 0));
  ASSERT_EQ(plain.tokens.size(), 120u);
  for (int k : {1, 2, 3}) {
    const Result spec = engine->generate(copy_request(120, k));
    EXPECT_EQ(spec.tokens, plain.tokens) << "k = " << k;
    EXPECT_EQ(spec.text, plain.text);
    expect_consistent_counters(spec.usage.speculative, k);
    EXPECT_GT(spec.usage.speculative.drafts_accepted, spec.usage.speculative.drafts_proposed / 3)
        << "the copy head is accepted 53-82 % of the time";
  }
}

TEST(EngineSpeculative, BatchedBesideAPlainRequestBothEqualRunningAlone) {
  auto engine = trained_engine({.parallel = 3});
  const Request spec_request = trained_request("Q: What is the capital of France?\nA:", 90, 3);
  const Request plain_request = trained_request("The jury said", 70, 0);
  const Request other_spec = trained_request("What is 23 + 58?", 50, 2);
  const Result spec_alone = engine->generate(spec_request);
  const Result plain_alone = engine->generate(plain_request);
  const Result other_alone = engine->generate(other_spec);
  RequestHandle a = engine->submit(spec_request);
  RequestHandle b = engine->submit(plain_request);
  RequestHandle c = engine->submit(other_spec);
  const Result spec = a.wait();
  const Result plain = b.wait();
  const Result other = c.wait();
  EXPECT_EQ(spec.tokens, spec_alone.tokens);
  EXPECT_EQ(plain.tokens, plain_alone.tokens);
  EXPECT_EQ(other.tokens, other_alone.tokens);
  EXPECT_EQ(spec.usage.speculative.drafts_accepted, spec_alone.usage.speculative.drafts_accepted);
  EXPECT_GT(spec.usage.speculative.steps, 0);
  EXPECT_EQ(plain.usage.speculative.steps, 0);
  EXPECT_EQ(spec.usage.completion_tokens, 90);
  EXPECT_EQ(plain.usage.completion_tokens, 70);
}

TEST(EngineSpeculative, MaxTokensIsExactWhenAStepAcceptsSeveralTokens) {
  auto engine = Engine::load({.model = copy_model("budget"), .threads = 2});
  for (int budget = 1; budget <= 14; ++budget) {
    const Result plain = engine->generate(copy_request(budget, 0));
    const Result spec = engine->generate(copy_request(budget, 3));
    EXPECT_EQ(spec.tokens, plain.tokens) << budget;
    EXPECT_EQ(spec.usage.completion_tokens, budget);
    EXPECT_EQ(spec.stop, StopReason::max_tokens) << budget;
  }
  // No draft is proposed past the budget: the last step drafts only what is still wanted.
  const Result two = engine->generate(copy_request(2, 3));
  EXPECT_LE(two.usage.speculative.drafts_proposed, 1);
}

TEST(EngineSpeculative, StopStringsInsideAStepEndWherePlainDecodingEnds) {
  auto engine = Engine::load({.model = copy_model("stop"), .threads = 2});
  const Result full = engine->generate(copy_request(60, 0));
  ASSERT_GE(full.text.size(), 12u);
  for (size_t at : {full.text.size() / 3, full.text.size() / 2, full.text.size() - 4}) {
    Request plain_request = copy_request(60, 0);
    plain_request.stop = {full.text.substr(at, 2)};
    Request spec_request = plain_request;
    spec_request.draft_tokens = 3;
    const Result plain = engine->generate(plain_request);
    const Result spec = engine->generate(spec_request);
    ASSERT_EQ(plain.stop, StopReason::stop_string);
    EXPECT_EQ(spec.stop, StopReason::stop_string);
    EXPECT_EQ(spec.stop_string, plain.stop_string);
    EXPECT_EQ(spec.text, plain.text) << at;
    EXPECT_EQ(spec.tokens, plain.tokens) << at;
    EXPECT_EQ(spec.usage.completion_tokens, plain.usage.completion_tokens);
  }
}

TEST(EngineSpeculative, LogprobsEqualPlainDecoding) {
  auto engine = trained_engine();
  Request plain_request = trained_request("The jury said", 40, 0);
  plain_request.logprobs = 3;
  Request spec_request = plain_request;
  spec_request.draft_tokens = 3;
  const Result plain = engine->generate(plain_request);
  const Result spec = engine->generate(spec_request);
  ASSERT_EQ(spec.tokens, plain.tokens);
  ASSERT_EQ(spec.logprobs.size(), plain.logprobs.size());
  ASSERT_EQ(spec.logprobs.size(), 40u);
  for (size_t i = 0; i < plain.logprobs.size(); ++i) {
    EXPECT_EQ(spec.logprobs[i].token, plain.logprobs[i].token);
    // Verify rows come from a (k + 1)-row forward: the same math, summed in another order.
    EXPECT_NEAR(spec.logprobs[i].logprob, plain.logprobs[i].logprob, 2e-3) << i;
    ASSERT_EQ(spec.logprobs[i].top.size(), 3u);
    EXPECT_EQ(spec.logprobs[i].top[0].first, plain.logprobs[i].top[0].first) << i;
  }
  EXPECT_GT(spec.usage.speculative.drafts_accepted, 0);
}

TEST(EngineSpeculative, SamplingRunsToTheBudgetAndIsReproducibleWithASeed) {
  auto engine = trained_engine();
  Request r = trained_request("The jury said", 80, 2);
  r.sampling.temperature = 0.7f;
  r.sampling.top_k = 20;
  r.sampling.seed = 7;
  const Result a = engine->generate(r);
  const Result b = engine->generate(r);
  EXPECT_EQ(a.tokens.size(), 80u);
  EXPECT_EQ(a.tokens, b.tokens);
  expect_consistent_counters(a.usage.speculative, 2);
  EXPECT_GT(a.usage.speculative.drafts_accepted, 0);
}

TEST(EngineSpeculative, CancelMidGenerationEndsTheRequestAndTheEngineGoesOn) {
  auto engine = trained_engine({.parallel = 2});
  const Request plain_request = trained_request("The jury said", 30, 0);
  const Result plain_alone = engine->generate(plain_request);
  RequestHandle spec = engine->submit(trained_request("The city", 3000, 3));
  RequestHandle plain = engine->submit(plain_request);
  // Some output first, so the cancel lands between speculative steps.
  int64_t seen = 0;
  while (seen < 20) {
    std::optional<Event> e = spec.next();
    ASSERT_TRUE(e.has_value());
    ASSERT_NE(e->kind, EventKind::done);
    seen += static_cast<int64_t>(e->tokens.size());
  }
  spec.cancel();
  const Result cancelled = spec.wait();
  EXPECT_EQ(cancelled.stop, StopReason::cancelled);
  EXPECT_LT(cancelled.usage.completion_tokens, 3000);
  EXPECT_GT(cancelled.usage.speculative.steps, 0);
  EXPECT_EQ(plain.wait().tokens, plain_alone.tokens);
  // The slot is reused cleanly.
  const Result again = engine->generate(trained_request("The jury said", 30, 3));
  EXPECT_EQ(again.tokens, plain_alone.tokens);
}

TEST(EngineSpeculative, ASecondChatTurnFromThePromptCacheEqualsPlain) {
  auto engine = trained_engine();
  auto turn = [&](std::optional<int> drafts) {
    Request first;
    first.messages = {Message::text("user", "What is the capital of France?")};
    first.enable_thinking = false;
    first.max_tokens = 12;
    first.sampling.temperature = 0;
    first.draft_tokens = drafts;
    const Result one = engine->generate(first);
    Request second = first;
    second.messages.push_back(Message::text("assistant", one.text));
    second.messages.push_back(Message::text("user", "And of Austria?"));
    second.max_tokens = 40;
    second.ignore_eos = true;
    return engine->generate(second);
  };
  const Result plain = turn(0);
  const Result spec = turn(2);
  EXPECT_GT(spec.usage.cached_tokens, 0) << "the second turn starts from the cache";
  EXPECT_EQ(spec.tokens, plain.tokens);
  EXPECT_GT(spec.usage.speculative.steps, 0);
}

TEST(EngineSpeculative, EngineDefaultAppliesToRequestsThatDoNotSay) {
  auto engine = trained_engine({.draft_tokens = 2});
  const Result by_default = engine->generate(trained_request("The jury said", 30, std::nullopt));
  const Result off = engine->generate(trained_request("The jury said", 30, 0));
  EXPECT_EQ(by_default.tokens, off.tokens);
  EXPECT_EQ(by_default.usage.speculative.proposed_at.size(), 2u);
  EXPECT_EQ(off.usage.speculative.steps, 0);
}

TEST(EngineSpeculative, AReducedDraftVocabularyLeavesTheOutputUnchanged) {
  std::string ids;  // the fixture's first 300 ids: drafts outside them are never proposed
  for (int i = 0; i < 300; ++i) ids += std::to_string(i) + "\n";
  const std::string dir = copy_model("vocab", {{"draft_vocab.txt", "# test\n" + ids}});
  auto full = Engine::load({.model = dir, .threads = 2});
  auto reduced = Engine::load({.model = dir, .threads = 2, .draft_vocab = 200});
  const Result plain = full->generate(copy_request(60, 0));
  const Result spec = reduced->generate(copy_request(60, 3));
  EXPECT_EQ(spec.tokens, plain.tokens);
  EXPECT_GT(spec.usage.speculative.steps, 0);

  EngineOptions missing{.model = copy_model("novocab"), .threads = 1};
  missing.draft_vocab = 100;
  try {
    Engine::load(missing);
    ADD_FAILURE() << "loaded without draft_vocab.txt";
  } catch (const InvalidRequest& e) {
    EXPECT_EQ(e.param, "draft_vocab");
    EXPECT_NE(std::string(e.what()).find("tightfit draft-vocab"), std::string::npos) << e.what();
  }
}

TEST(EngineSpeculative, DraftsWithoutAHeadAreRefused) {
  auto engine = tiny_engine();
  EXPECT_FALSE(engine->info().has_mtp);
  Request r = greedy_request("hi", 2);
  r.draft_tokens = 2;
  auto e = refusal(*engine, r);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->param, "draft_tokens");
  EXPECT_NE(std::string(e->what()).find("no multi-token-prediction head"), std::string::npos)
      << e->what();
  r.draft_tokens = -1;
  ASSERT_TRUE(refusal(*engine, r).has_value());
  EXPECT_EQ(refusal(*engine, r)->param, "draft_tokens");
  EXPECT_EQ(engine->stats().requests_total, 0);  // refused before queueing
  r.draft_tokens = 0;
  EXPECT_EQ(engine->generate(r).usage.completion_tokens, 2);

  EngineOptions o{.model = test::tiny_random_dir(), .threads = 1};
  o.draft_tokens = 2;
  try {
    Engine::load(o);
    ADD_FAILURE() << "draft_tokens 2 loaded a model without a head";
  } catch (const InvalidRequest& e) {
    EXPECT_EQ(e.param, "draft_tokens");
    EXPECT_NE(std::string(e.what()).find("no multi-token-prediction head"), std::string::npos);
  }
  o.draft_tokens = -2;
  EXPECT_THROW(Engine::load(o), InvalidRequest);
  o.draft_tokens = 0;
  EXPECT_NO_THROW(Engine::load(o));
}

TEST(EngineSpeculative, TooManyDraftsAreRefused) {
  auto engine = trained_engine();
  Request r = trained_request("The jury said", 4, 17);
  auto e = refusal(*engine, r);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->param, "draft_tokens");
  EXPECT_NE(std::string(e->what()).find("at most 16"), std::string::npos) << e->what();
}

}  // namespace
}  // namespace tightfit
