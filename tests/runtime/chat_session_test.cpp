// Multi-turn chat on the embedded random-weight model: each turn restores a checkpoint and
// prefills only its new tokens, and still produces exactly what a fresh session fed the whole
// rendered conversation produces (greedy).
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "generation_test_util.h"
#include "model/session.h"
#include "runtime/chat_session.h"

namespace tf {
namespace {

using test::tiny_random;

std::vector<int32_t> encode(const std::string& text) {
  return tiny_random().tokenizer->tokenizer.encode(text);
}

// What a fresh session generates for the whole rendered prompt.
GenerationResult fresh_run(const GenerationParams& params, const std::string& prompt_text) {
  Session session(*tiny_random().model);
  Generator gen(session, tiny_random().tokenizer->tokenizer, params);
  return gen.run(encode(prompt_text), prompt_opens_reasoning(prompt_text), nullptr);
}

// Ends of the generation prompt: the checkpoint sits right after "<|im_start|>assistant\n".
size_t tokens_through_last_assistant_header(const std::string& prompt_text) {
  const std::string header = "<|im_start|>assistant\n";
  return encode(prompt_text.substr(0, prompt_text.rfind(header) + header.size())).size();
}

TEST(ChatSession, EachTurnPrefillsOnlyNewTokensAndMatchesAFreshPrefill) {
  const GenerationParams params = test::greedy_params(12);
  Session session(*tiny_random().model);
  ChatSession chat(session, *tiny_random().tokenizer, params, {.system_prompt = "Be brief."});
  const std::vector<std::string> turns = {"Hello there", "Tell me more about foxes",
                                          "And the dog?"};
  size_t previous_checkpoint = 0;
  for (size_t i = 0; i < turns.size(); ++i) {
    SCOPED_TRACE("turn " + std::to_string(i));
    const std::string text = chat.render(turns[i]);
    const size_t total = encode(text).size();
    const GenerationResult r = chat.send(turns[i], nullptr);
    const GenerationResult expected = fresh_run(params, text);
    EXPECT_EQ(r.tokens, expected.tokens);
    EXPECT_EQ(r.answer, expected.answer);
    // Turn 1 processes everything; later turns restore the previous turn's checkpoint.
    EXPECT_EQ(r.stats.reused_tokens, static_cast<int64_t>(previous_checkpoint));
    EXPECT_EQ(r.stats.prompt_tokens, static_cast<int64_t>(total - previous_checkpoint));
    if (i > 0) EXPECT_GT(previous_checkpoint, 0u);
    previous_checkpoint = tokens_through_last_assistant_header(text);
    EXPECT_LE(chat.checkpoints(), 2u);
  }
  // History: system, then user/assistant pairs holding what was answered.
  ASSERT_EQ(chat.messages().size(), 1 + 2 * turns.size());
  EXPECT_EQ(chat.messages()[0]["role"], "system");
  EXPECT_EQ(chat.messages()[2]["role"], "assistant");
}

TEST(ChatSession, EarlierReasoningIsDroppedFromTheRenderedHistory) {
  // Sampled with a push towards "</think>" so that the first answer has both parts.
  GenerationParams params = test::greedy_params(40);
  params.sampler.temperature = 1.0f;
  params.sampler.logit_bias.push_back({test::kEndThink, 3.0f});
  params.sampler.logit_bias.push_back({test::kThink, -1000.0f});
  Session session(*tiny_random().model);
  std::unique_ptr<ChatSession> chat_ptr;
  GenerationResult first;
  for (uint64_t seed = 1; seed <= 50 && first.reasoning.empty(); ++seed) {
    params.sampler.seed = seed;
    chat_ptr = std::make_unique<ChatSession>(session, *tiny_random().tokenizer, params,
                                             ChatOptions{});
    first = chat_ptr->send("Hi", nullptr);
  }
  ChatSession& chat = *chat_ptr;
  ASSERT_FALSE(first.reasoning.empty());
  EXPECT_EQ(chat.messages()[1]["reasoning_content"], first.reasoning);
  const std::string next = chat.render("Again");
  EXPECT_EQ(next.find(first.reasoning), std::string::npos);
  // Still reused: the checkpoint precedes where the rendering differs from what was generated.
  const GenerationResult second = chat.send("Again", nullptr);
  EXPECT_GT(second.stats.reused_tokens, 0);
}

TEST(ChatSession, ThinkingToggleResetAndCancel) {
  const GenerationParams params = test::greedy_params(8);
  Session session(*tiny_random().model);
  ChatSession chat(session, *tiny_random().tokenizer, params, {});
  EXPECT_NE(chat.render("x").find("<think>\n"), std::string::npos);
  chat.send("one", nullptr);

  chat.set_thinking(false);
  const std::string off = chat.render("two");
  EXPECT_NE(off.rfind("<|im_start|>assistant\n<think>\n\n</think>\n\n"), std::string::npos);
  const GenerationResult two = chat.send("two", nullptr);
  EXPECT_GT(two.stats.reused_tokens, 0);  // the history renders the same either way
  EXPECT_EQ(two.tokens, fresh_run(params, off).tokens);

  // A cancelled answer is kept as far as it got, and the next turn is still exact.
  std::atomic<bool> cancel{false};
  int pieces = 0;
  const GenerationResult three = chat.send(
      "three", [&](const TextPiece&) { cancel = ++pieces >= 2; }, &cancel);
  EXPECT_TRUE(three.cancelled);
  EXPECT_EQ(chat.messages().back()["content"], three.answer);
  const std::string four_text = chat.render("four");
  const GenerationResult four = chat.send("four", nullptr);
  EXPECT_GT(four.stats.reused_tokens, 0);
  EXPECT_EQ(four.tokens, fresh_run(params, four_text).tokens);

  chat.reset();
  EXPECT_EQ(chat.messages().size(), 0u);
  EXPECT_EQ(chat.checkpoints(), 0u);
  const std::string five_text = chat.render("five");
  const GenerationResult five = chat.send("five", nullptr);
  EXPECT_EQ(five.stats.reused_tokens, 0);
  EXPECT_EQ(five.stats.prompt_tokens, static_cast<int64_t>(encode(five_text).size()));
  EXPECT_EQ(five.tokens, fresh_run(params, five_text).tokens);
}

TEST(ChatSession, TemplateArgumentsReachTheTemplate) {
  ChatOptions options;
  options.template_kwargs = {{"enable_thinking", false}};
  Session session(*tiny_random().model);
  ChatSession chat(session, *tiny_random().tokenizer, test::greedy_params(4), options);
  EXPECT_NE(chat.render("x").find("<think>\n\n</think>"), std::string::npos);
  options.template_kwargs = nlohmann::ordered_json::array();
  EXPECT_THROW(ChatSession(session, *tiny_random().tokenizer, test::greedy_params(4), options),
               std::invalid_argument);
}

}  // namespace
}  // namespace tf
