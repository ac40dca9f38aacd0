// Hostile tokenizer.json files (issue 20): ids far beyond the vocabulary, deep nesting, and
// pre-tokenizer regexes that backtrack without end must fail with a message, not allocate
// gigabytes, overflow or hang.
#include <gtest/gtest.h>

#include <string>

#include "tokenizer/tokenizer.h"

namespace tf::tokenizer {
namespace {

// A minimal byte-level-free BPE tokenizer.json whose vocabulary is `vocab` (a JSON object).
std::string spec_with_vocab(const std::string& vocab, const std::string& pre_tokenizer = "null") {
  return R"({"version": "1.0", "added_tokens": [], "normalizer": null, "pre_tokenizer": )" + pre_tokenizer +
         R"(, "decoder": null, "model": {"type": "BPE", "vocab": )" + vocab + R"(, "merges": []}})";
}

std::string error_of_text(const std::string& text) {
  try {
    Tokenizer::from_json_text(text, "tok.json");
  } catch (const std::exception& e) {
    return e.what();
  }
  return "(loaded)";
}

TEST(TokenizerHostile, HugeVocabularyIdIsRejected) {
  for (const char* id : {"2000000000", "2147483647", "1048578"}) {
    const std::string message = error_of_text(spec_with_vocab(std::string(R"({"a": 0, "b": )") + id + "}"));
    EXPECT_NE(message.find("must have ids below"), std::string::npos) << id << ": " << message;
  }
  // Sparse but plausible ids still load (room for added tokens after the vocabulary).
  EXPECT_EQ(error_of_text(spec_with_vocab(R"({"a": 0, "b": 151000})")), "(loaded)");
}

TEST(TokenizerHostile, DeeplyNestedJsonIsRejected) {
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  const std::string message = error_of_text(R"({"version": "1.0", "extra": )" + deep + "}");
  EXPECT_NE(message.find("nested deeper than"), std::string::npos) << message;
}

TEST(TokenizerHostile, CatastrophicPreTokenizerRegexIsAnError) {
  const std::string pre = R"({"type": "Split", "pattern": {"Regex": "^(a|a)*$"}, "behavior": "Isolated", "invert": false})";
  const Tokenizer t = Tokenizer::from_json_text(spec_with_vocab(R"({"a": 0, "b": 1})", pre), "tok.json");
  try {
    t.encode(std::string(64, 'a') + "b");
    ADD_FAILURE() << "encoded";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("too much backtracking"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace tf::tokenizer
