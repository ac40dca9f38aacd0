// The generation loop with speculative decoding on (GenerationParams::draft_tokens): the MTP
// fixture's "copy" model (it accepts most drafts) with the tiny 512-id tokenizer of
// models/tiny-random. Greedy output, text and stop handling equal the plain loop's, including
// stops that fire inside a step's accepted run; the session ends holding the same tokens; a
// second run (chat-style, reusing the session's prefix) still matches.
#include <gtest/gtest.h>

#include "generation_test_util.h"
#include "runtime/generator.h"

namespace tf {
namespace {

const Model& copy_model() {
  static const Model* m =
      Model::load(std::string(TIGHTFIT_TEST_DATA) + "/tiny-qwen35moe-mtp/copy", 1).release();
  return *m;
}

struct Output {
  GenerationResult result;
  std::string text;
  int64_t session_length = 0;
};

Output generate(GenerationParams params, std::span<const int32_t> prompt, int drafts) {
  params.draft_tokens = drafts;
  Session session(copy_model());
  Generator gen(session, test::tiny_random().tokenizer->tokenizer, params);
  Output o;
  o.result = gen.run(prompt, false, [&](const TextPiece& p) { o.text += p.text; });
  o.session_length = session.length();
  return o;
}

const std::vector<int32_t> kPrompt = {40, 300, 12, 99, 7, 410, 63, 5};

TEST(SpeculativeGenerator, GreedyMatchesThePlainLoop) {
  const auto params = test::greedy_params(64);
  const Output plain = generate(params, kPrompt, 0);
  for (int k : {1, 3}) {
    const Output spec = generate(params, kPrompt, k);
    EXPECT_EQ(spec.result.tokens, plain.result.tokens) << "k = " << k;
    EXPECT_EQ(spec.text, plain.text);
    EXPECT_EQ(spec.result.stop, StopReason::max_tokens);
    EXPECT_EQ(spec.session_length, plain.session_length);
    EXPECT_GT(spec.result.stats.speculative.drafts_accepted, 0);
    EXPECT_EQ(spec.result.stats.speculative.proposed_at.size(), static_cast<size_t>(k));
    EXPECT_NE(format_stats(spec.result.stats).find("drafts:"), std::string::npos);
  }
  EXPECT_EQ(plain.result.stats.speculative.steps, 0);
}

TEST(SpeculativeGenerator, StopsInsideAStepEndWhereThePlainLoopEnds) {
  // Every max-token budget: most end inside a step's run of accepted drafts.
  for (int budget = 1; budget <= 12; ++budget) {
    const auto params = test::greedy_params(budget);
    const Output plain = generate(params, kPrompt, 0);
    const Output spec = generate(params, kPrompt, 3);
    EXPECT_EQ(spec.result.tokens, plain.result.tokens) << budget;
    EXPECT_EQ(spec.session_length, plain.session_length) << budget;
  }
  // A stop string from the middle of the output.
  auto params = test::greedy_params(40);
  const Output full = generate(params, kPrompt, 0);
  ASSERT_GE(full.text.size(), 8u);
  params.stop_strings = {full.text.substr(full.text.size() / 2, 2)};
  const Output plain = generate(params, kPrompt, 0);
  const Output spec = generate(params, kPrompt, 3);
  EXPECT_EQ(plain.result.stop, StopReason::stop_string);
  EXPECT_EQ(spec.result.tokens, plain.result.tokens);
  EXPECT_EQ(spec.text, plain.text);
  EXPECT_EQ(spec.session_length, plain.session_length);
}

TEST(SpeculativeGenerator, ASecondRunOnTheSameSessionMatches) {
  const auto params = test::greedy_params(16);
  auto two_runs = [&](int drafts) {
    GenerationParams p = params;
    p.draft_tokens = drafts;
    Session session(copy_model());
    Generator gen(session, test::tiny_random().tokenizer->tokenizer, p);
    const auto first = gen.run(kPrompt, false, {});
    std::vector<int32_t> next = kPrompt;
    next.insert(next.end(), first.tokens.begin(), first.tokens.end());
    next.push_back(17);
    const auto second = gen.run(next, false, {});
    EXPECT_EQ(second.stats.reused_tokens, static_cast<int64_t>(next.size()) - 2);
    return second.tokens;
  };
  EXPECT_EQ(two_runs(2), two_runs(0));
}

}  // namespace
}  // namespace tf
