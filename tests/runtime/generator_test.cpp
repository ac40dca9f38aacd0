// The generation loop on the embedded random-weight model: the text is gibberish, so the tests
// check the mechanics — token budgets, EOS, stop strings, loop guard, determinism, the
// reasoning split, cancellation, prompt reuse, stats and errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <stdexcept>
#include <string>
#include <vector>

#include "generation_test_util.h"
#include "model/session.h"
#include "runtime/generator.h"
#include "runtime/reasoning_split.h"

namespace tf {
namespace {

using test::tiny_random;

std::vector<int32_t> encode(const std::string& text) {
  return tiny_random().tokenizer->tokenizer.encode(text);
}

struct Collected {
  std::string reasoning, answer;
  int pieces = 0;
};

// Runs a fresh session; collects the streamed pieces.
GenerationResult generate(const GenerationParams& params, const std::vector<int32_t>& prompt,
                          bool starts_in_reasoning = false, Collected* out = nullptr,
                          const std::atomic<bool>* cancel = nullptr) {
  Session session(*tiny_random().model);
  Generator gen(session, tiny_random().tokenizer->tokenizer, params);
  Collected local;
  Collected& c = out ? *out : local;
  return gen.run(
      prompt, starts_in_reasoning,
      [&](const TextPiece& p) {
        ++c.pieces;
        (p.channel == TextChannel::reasoning ? c.reasoning : c.answer) += p.text;
      },
      cancel);
}

const std::vector<int32_t>& prompt() {
  static const std::vector<int32_t> ids = encode("The quick brown fox");
  return ids;
}

TEST(DefaultMaxTokens, SmallestOfModelDefaultSafeBoundAndRoom) {
  EXPECT_EQ(default_max_tokens(std::nullopt, std::nullopt, 262144, 10), kSafeMaxTokens);
  EXPECT_EQ(default_max_tokens(std::nullopt, 512, 262144, 10), 512);
  EXPECT_EQ(default_max_tokens(std::nullopt, 100000, 262144, 10), kSafeMaxTokens);
  EXPECT_EQ(default_max_tokens(std::nullopt, std::nullopt, 4096, 4000), 96);
  EXPECT_EQ(default_max_tokens(std::nullopt, std::nullopt, 4096, 5000), 0);
  // An explicit request may exceed the safe bound, never the context.
  EXPECT_EQ(default_max_tokens(10000, std::nullopt, 262144, 10), 10000);
  EXPECT_EQ(default_max_tokens(10000, std::nullopt, 4096, 96), 4000);
  EXPECT_EQ(default_max_tokens(std::nullopt, std::nullopt, 0, 10), kSafeMaxTokens);  // unknown
}

TEST(Generator, GreedyIsDeterministicAndHonoursMaxTokens) {
  const auto params = test::greedy_params(12);
  Collected a, b;
  const GenerationResult r1 = generate(params, prompt(), false, &a);
  const GenerationResult r2 = generate(params, prompt(), false, &b);
  EXPECT_EQ(r1.tokens.size(), 12u);
  EXPECT_EQ(r1.stop, StopReason::max_tokens);
  EXPECT_EQ(r1.max_tokens, 12);
  EXPECT_EQ(r1.tokens, r2.tokens);
  EXPECT_EQ(a.answer + a.reasoning, b.answer + b.reasoning);
  EXPECT_GT(a.pieces, 0);
  EXPECT_FALSE(r1.cancelled);
}

TEST(Generator, SeededSamplingIsReproducible) {
  GenerationParams params = test::greedy_params(24);
  params.sampler.temperature = 1.0f;
  params.sampler.seed = 7;
  const GenerationResult a = generate(params, prompt());
  const GenerationResult b = generate(params, prompt());
  EXPECT_EQ(a.tokens, b.tokens);
  params.sampler.seed = 8;
  const GenerationResult c = generate(params, prompt());
  EXPECT_NE(a.tokens, c.tokens);  // 24 draws over ~500 ids: equal only by a miracle
}

TEST(Generator, StopsOnEosWithoutPrintingIt) {
  GenerationParams params = test::greedy_params(50);
  params.sampler.logit_bias = {{test::kImEnd, 1000.0f}};
  Collected c;
  const GenerationResult r = generate(params, prompt(), false, &c);
  EXPECT_EQ(r.stop, StopReason::eos);
  ASSERT_EQ(r.tokens.size(), 1u);
  EXPECT_EQ(r.tokens[0], test::kImEnd);
  EXPECT_EQ(c.answer + c.reasoning, "");
  EXPECT_EQ(r.stats.generated_tokens, 1);
}

TEST(Generator, StopStringEndsTheOutputAndIsNeverShown) {
  // Keep the split out of the way: no think tags.
  GenerationParams params = test::greedy_params(40);
  params.sampler.logit_bias.push_back({test::kThink, -1000.0f});
  params.sampler.logit_bias.push_back({test::kEndThink, -1000.0f});
  Collected full;
  const GenerationResult whole = generate(params, prompt(), false, &full);
  ASSERT_GE(full.answer.size(), 20u) << full.answer;
  // A stop string from the middle of the greedy output; the run must end where it first occurs.
  const std::string stop = full.answer.substr(full.answer.size() / 2, 3);
  const size_t at = full.answer.find(stop);
  params.stop_strings = {stop};
  Collected cut;
  const GenerationResult r = generate(params, prompt(), false, &cut);
  EXPECT_EQ(r.stop, StopReason::stop_string);
  EXPECT_EQ(cut.answer, full.answer.substr(0, at));
  EXPECT_EQ(r.answer, cut.answer);
  EXPECT_EQ(cut.answer.find(stop), std::string::npos);
  EXPECT_LT(r.tokens.size(), whole.tokens.size());
  EXPECT_TRUE(std::equal(r.tokens.begin(), r.tokens.end(), whole.tokens.begin()));
}

TEST(Generator, LoopGuardStopsARepeatedToken) {
  GenerationParams params = test::greedy_params(1000);
  params.sampler.logit_bias.push_back({test::kLetterA, 1000.0f});
  Collected c;
  const GenerationResult r = generate(params, prompt(), false, &c);
  EXPECT_EQ(r.stop, StopReason::repetition_loop);
  EXPECT_EQ(r.tokens.size(), 128u);  // one token 128 times in a row (loop_guard.h defaults)
  EXPECT_FALSE(r.notice.empty());
  EXPECT_EQ(c.answer, std::string(128, 'a'));

  params.loop_guard.enabled = false;
  params.max_tokens = 200;
  const GenerationResult unguarded = generate(params, prompt());
  EXPECT_EQ(unguarded.stop, StopReason::max_tokens);
  EXPECT_EQ(unguarded.tokens.size(), 200u);
}

// Sampling with a push towards "</think>": the reasoning/answer split follows the first
// "</think>" of the output, and hiding the reasoning changes nothing else.
TEST(Generator, ReasoningSplitAndHiding) {
  GenerationParams params = test::greedy_params(48);
  params.sampler.temperature = 1.0f;
  params.sampler.logit_bias.push_back({test::kEndThink, 3.0f});
  params.sampler.logit_bias.push_back({test::kThink, -1000.0f});
  // The first seed whose output has reasoning, then "</think>", then an answer.
  Collected shown;
  GenerationResult r;
  for (uint64_t seed = 1; seed <= 50; ++seed) {
    params.sampler.seed = seed;
    shown = {};
    r = generate(params, prompt(), true, &shown);
    if (!r.reasoning.empty() && !r.answer.empty()) break;
  }
  ASSERT_FALSE(r.reasoning.empty());
  ASSERT_FALSE(r.answer.empty());
  const auto close = std::find(r.tokens.begin(), r.tokens.end(), test::kEndThink);
  ASSERT_NE(close, r.tokens.end());
  EXPECT_EQ(shown.reasoning, r.reasoning);
  EXPECT_EQ(shown.answer, r.answer);
  EXPECT_EQ(r.reasoning.find("</think>"), std::string::npos);
  // The reasoning is the text of the tokens before the first </think> (newlines at its ends
  // dropped, as the template does).
  const std::string before = tiny_random().tokenizer->tokenizer.decode(
      std::vector<int32_t>(r.tokens.begin(), close), true);
  const size_t a = before.find_first_not_of('\n'), b = before.find_last_not_of('\n');
  EXPECT_EQ(r.reasoning, a == std::string::npos ? "" : before.substr(a, b - a + 1));

  params.show_reasoning = false;
  Collected hidden;
  const GenerationResult h = generate(params, prompt(), true, &hidden);
  EXPECT_EQ(h.tokens, r.tokens);
  EXPECT_EQ(hidden.reasoning, "");
  EXPECT_EQ(hidden.answer, shown.answer);
  EXPECT_EQ(h.reasoning, r.reasoning);  // still recorded, for the chat history
}

TEST(Generator, CancelStopsAtTheNextToken) {
  GenerationParams params = test::greedy_params(100);
  std::atomic<bool> cancel{false};
  Session session(*tiny_random().model);
  Generator gen(session, tiny_random().tokenizer->tokenizer, params);
  int pieces = 0;
  const GenerationResult r = gen.run(
      prompt(), false,
      [&](const TextPiece&) {
        if (++pieces == 3) cancel = true;
      },
      &cancel);
  EXPECT_TRUE(r.cancelled);
  EXPECT_EQ(r.stop, StopReason::none);
  EXPECT_LT(r.tokens.size(), 100u);
  EXPECT_GE(r.tokens.size(), 3u);

  // Cancelled before it starts: nothing prefilled or generated.
  Session fresh(*tiny_random().model);
  Generator gen2(fresh, tiny_random().tokenizer->tokenizer, params);
  const GenerationResult none = gen2.run(prompt(), false, nullptr, &cancel);
  EXPECT_TRUE(none.cancelled);
  EXPECT_TRUE(none.tokens.empty());
  EXPECT_EQ(fresh.length(), 0);
}

TEST(Generator, ContinuesFromAPrefixAlreadyInTheSession) {
  const auto params = test::greedy_params(10);
  const GenerationResult fresh = generate(params, prompt());
  Session session(*tiny_random().model);
  const size_t held = prompt().size() - 2;
  session.prefill(std::span<const int32_t>(prompt()).first(held));
  Generator gen(session, tiny_random().tokenizer->tokenizer, params);
  const GenerationResult r = gen.run(prompt(), false, nullptr);
  EXPECT_EQ(r.stats.reused_tokens, static_cast<int64_t>(held));
  EXPECT_EQ(r.stats.prompt_tokens, 2);
  EXPECT_EQ(r.tokens, fresh.tokens);
  // The session holds the prompt and every generated token but the last.
  EXPECT_EQ(session.length(), static_cast<int64_t>(prompt().size() + r.tokens.size() - 1));
}

TEST(Generator, StatsCountWhatWasProcessed) {
  const GenerationResult r = generate(test::greedy_params(6), prompt());
  EXPECT_EQ(r.stats.prompt_tokens, static_cast<int64_t>(prompt().size()));
  EXPECT_EQ(r.stats.reused_tokens, 0);
  EXPECT_EQ(r.stats.generated_tokens, 6);
  EXPECT_GT(r.stats.peak_rss_bytes, 0u);
  EXPECT_GT(r.stats.prompt_tokens_per_second(), 0);
  EXPECT_GT(r.stats.generation_tokens_per_second(), 0);
  const std::string line = format_stats(r.stats);
  EXPECT_NE(line.find("prompt: " + std::to_string(prompt().size()) + " tokens, "), std::string::npos)
      << line;
  EXPECT_NE(line.find("generation: 6 tokens, "), std::string::npos) << line;
  EXPECT_NE(line.find("peak memory: "), std::string::npos) << line;
  EXPECT_EQ(line.find("reused"), std::string::npos) << line;
  EXPECT_EQ(line.find('\n'), std::string::npos);
}

TEST(Generator, RejectsPromptsItCannotExtend) {
  const auto params = test::greedy_params(4);
  Session session(*tiny_random().model);
  Generator gen(session, tiny_random().tokenizer->tokenizer, params);
  EXPECT_THROW(gen.run({}, false, nullptr), std::invalid_argument);
  session.prefill(prompt());
  EXPECT_THROW(gen.run(prompt(), false, nullptr), std::invalid_argument);  // nothing new
  session.reset();
  // The tiny model's context is 4096 tokens: a prompt that fills it is refused before any work.
  const std::vector<int32_t> huge(4096, test::kLetterA);
  try {
    gen.run(huge, false, nullptr);
    FAIL() << "expected an error";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("context of 4096"), std::string::npos) << e.what();
  }
  EXPECT_EQ(session.length(), 0);
}

TEST(Generator, BadSamplingSettingsAreRejected) {
  GenerationParams params = test::greedy_params(4);
  params.sampler.top_p = 1.5f;
  Session session(*tiny_random().model);
  EXPECT_THROW(Generator(session, tiny_random().tokenizer->tokenizer, params),
               std::invalid_argument);
  params = test::greedy_params(4);
  params.sampler.logit_bias = {{600, 1.0f}};  // past the 512-id vocabulary
  EXPECT_THROW(Generator(session, tiny_random().tokenizer->tokenizer, params),
               std::invalid_argument);
}

}  // namespace
}  // namespace tf
