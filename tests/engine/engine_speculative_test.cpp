// Speculative decoding through the public API: the engine's scheduler runs no speculative steps
// yet, so draft_tokens > 0 is refused naming the field (no MTP head, or not yet available),
// draft_tokens = 0 runs plain decoding, and EngineOptions::draft_tokens > 0 does not load. The
// speculative loop itself is tested on the runtime (tests/runtime/speculative_decoding_test.cpp).
#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "engine_test_util.h"

namespace tightfit {
namespace {

using test::greedy_request;
using test::tiny_engine;

// models/tiny-qwen35: the trained model, which keeps its MTP head.
std::string model_with_head() {
  return std::string(TIGHTFIT_TEST_DATA) + "/../../models/tiny-qwen35";
}

// The InvalidRequest that submit throws (param and message), or nothing.
std::optional<InvalidRequest> refusal(Engine& engine, const Request& request) {
  try {
    RequestHandle h = engine.submit(request);
  } catch (const InvalidRequest& e) {
    return e;
  }
  return std::nullopt;
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
}

TEST(EngineSpeculative, DraftsAreNotYetAvailableAndZeroIsPlainDecoding) {
  auto engine = Engine::load({.model = model_with_head(), .threads = 2});
  EXPECT_TRUE(engine->info().has_mtp);
  Request r = greedy_request("The sky is", 8);
  r.sampling.logit_bias.clear();  // the trained model's ids differ from the tiny tokenizer's
  r.draft_tokens = 2;
  auto e = refusal(*engine, r);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->param, "draft_tokens");
  EXPECT_NE(std::string(e->what()).find("not yet available through the engine"),
            std::string::npos)
      << e->what();
  EXPECT_EQ(engine->stats().requests_total, 0);  // refused before queueing

  Request plain = r;
  plain.draft_tokens.reset();
  Request off = r;
  off.draft_tokens = 0;
  const Result a = engine->submit(plain).wait();
  const Result b = engine->submit(off).wait();
  EXPECT_EQ(a.stop, b.stop);
  EXPECT_FALSE(a.tokens.empty());
  EXPECT_EQ(a.tokens, b.tokens);
  EXPECT_EQ(b.timing.drafts_proposed, 0);
}

TEST(EngineSpeculative, EngineOptionDraftsDoNotLoad) {
  EngineOptions o{.model = test::tiny_random_dir(), .threads = 1};
  o.draft_tokens = 2;
  try {
    Engine::load(o);
    ADD_FAILURE() << "draft_tokens 2 loaded";
  } catch (const InvalidRequest& e) {
    EXPECT_EQ(e.param, "draft_tokens");
    EXPECT_NE(std::string(e.what()).find("not yet available"), std::string::npos) << e.what();
  }
  o.draft_tokens = -2;
  EXPECT_THROW(Engine::load(o), InvalidRequest);
  o.draft_tokens = 0;
  EXPECT_NO_THROW(Engine::load(o));
}

}  // namespace
}  // namespace tightfit
