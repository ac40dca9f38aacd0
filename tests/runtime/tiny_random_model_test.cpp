// The embedded demo model folder (models/tiny-random) is self-consistent: the tokenizer cut
// covers exactly the model's 512 ids, the special tokens sit where config.json and
// generation_config.json say, the real chat template renders, and any text round-trips.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "generation_test_util.h"
#include "runtime/loaded_model.h"
#include "tokenizer/chat_template.h"

namespace tf {
namespace {

TEST(TinyRandomModel, TokenizerConfigAndGenerationConfigAgree) {
  const LoadedModel m = LoadedModel::load(test::tiny_random_dir(), 1, HubSettings{.offline = true}, {});
  const auto& tok = m.tokenizer->tokenizer;
  EXPECT_EQ(m.model->vocab_size(), 512);
  EXPECT_EQ(tok.id_space(), 512u);
  EXPECT_EQ(tok.token_to_id("<|im_end|>"), test::kImEnd);
  EXPECT_EQ(tok.token_to_id("<|endoftext|>"), test::kEndOfText);
  EXPECT_EQ(tok.token_to_id("<think>"), test::kThink);
  EXPECT_EQ(tok.token_to_id("</think>"), test::kEndThink);
  EXPECT_EQ(tok.token_to_id("a"), test::kLetterA);
  EXPECT_EQ(m.model->text().eos_token_ids, std::vector<int>{test::kImEnd});
  EXPECT_EQ(m.eos_token_ids(), (std::vector<int32_t>{test::kImEnd, test::kEndOfText}));
  EXPECT_TRUE(tok.is_special(test::kImEnd));
  EXPECT_FALSE(tok.is_special(test::kThink));  // <think> is text, as in Qwen3.5
  // Qwen3.5's sampling defaults.
  EXPECT_FLOAT_EQ(m.defaults.sampler.temperature, 1.0f);
  EXPECT_EQ(m.defaults.sampler.top_k, 20);
  EXPECT_FLOAT_EQ(m.defaults.sampler.top_p, 0.95f);
}

TEST(TinyRandomModel, TemplateRendersAndTextRoundTrips) {
  const auto& mt = *test::tiny_random().tokenizer;
  tokenizer::ChatRequest request;
  request.messages.push_back({{"role", "user"}, {"content", "Hi"}});
  const std::string prompt = tokenizer::apply_chat_template(mt.config, request);
  EXPECT_EQ(prompt, "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n");
  const auto ids = mt.tokenizer.encode(prompt);
  EXPECT_EQ(ids.front(), 500);  // <|im_start|>
  EXPECT_EQ(ids[ids.size() - 2], test::kThink);
  EXPECT_EQ(mt.tokenizer.decode(ids), prompt);
  // Text outside the merges falls back to the byte symbols.
  const std::string text = "héllo wörld, 世界 🙂 the end";
  const auto text_ids = mt.tokenizer.encode(text);
  for (int32_t id : text_ids) EXPECT_LT(id, 499);
  EXPECT_EQ(mt.tokenizer.decode(text_ids), text);
  EXPECT_LT(mt.tokenizer.encode("the the the").size(), std::string("the the the").size());
}

}  // namespace
}  // namespace tf
