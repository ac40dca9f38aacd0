// `tightfit draft-vocab`'s counting (runtime/draft_vocabulary_builder.h) with the tiny
// tokenizer of models/tiny-random.
#include <gtest/gtest.h>

#include <sstream>

#include "generation_test_util.h"
#include "runtime/draft_vocabulary_builder.h"

namespace tf {
namespace {

TEST(DraftVocabularyBuilder, MostFrequentFirstAfterTheAlwaysIds) {
  const auto& tok = test::tiny_random().tokenizer->tokenizer;
  const auto a = tok.encode("a"), b = tok.encode("b");
  ASSERT_EQ(a.size(), 1u);
  ASSERT_EQ(b.size(), 1u);
  std::istringstream corpus("aaaa\n\nb a\n\nbbbbbbbbbbbbbbbbbbbbbbbb\n");
  const auto counts = most_frequent_tokens(tok, corpus, 3, {test::kImEnd});
  ASSERT_GE(counts.ids.size(), 2u);
  EXPECT_EQ(counts.ids[0], test::kImEnd);
  EXPECT_GT(counts.corpus_tokens, 0);
  EXPECT_LE(counts.ids.size(), 3u);
  EXPECT_GT(counts.coverage, 0.0);
  EXPECT_LE(counts.coverage, 1.0);
  // Every id appears once.
  for (size_t i = 0; i < counts.ids.size(); ++i)
    for (size_t j = 0; j < i; ++j) EXPECT_NE(counts.ids[i], counts.ids[j]);
}

TEST(DraftVocabularyBuilder, RefusesEmptyCorpusAndSize) {
  const auto& tok = test::tiny_random().tokenizer->tokenizer;
  std::istringstream empty("\n\n");
  EXPECT_THROW(most_frequent_tokens(tok, empty, 10), std::invalid_argument);
  std::istringstream text("abc");
  EXPECT_THROW(most_frequent_tokens(tok, text, 0), std::invalid_argument);
}

}  // namespace
}  // namespace tf
