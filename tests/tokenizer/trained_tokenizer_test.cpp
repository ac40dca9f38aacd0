// The tokenizer of models/tiny-qwen35 (trained by tools/train/bpe.py, Qwen3.5's pipeline: added
// tokens, NFC, the Qwen3.5 pre-tokenizer regex, byte-level BPE) encodes and decodes like the
// Python encoder that produced the training data: 117 texts (held-out prose, chat and tool-call
// exchanges with added tokens, Unicode and whitespace) in tests/data/tiny-qwen35/tokenizer-cases.jsonl.
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tokenizer/tokenizer.h"

namespace tf::tokenizer {
namespace {

const std::string kModel = std::string(TIGHTFIT_TEST_DATA) + "/../../models/tiny-qwen35";

TEST(TrainedTokenizer, MatchesThePythonEncoder) {
  const Tokenizer t = Tokenizer::from_file(kModel + "/tokenizer.json");
  EXPECT_EQ(t.token_to_id("<|endoftext|>"), 2000);
  EXPECT_EQ(t.token_to_id("<|im_end|>"), 2002);
  EXPECT_EQ(t.token_to_id("<think>"), 2024);
  std::ifstream in(std::string(TIGHTFIT_TEST_DATA) + "/tiny-qwen35/tokenizer-cases.jsonl");
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    const auto c = nlohmann::json::parse(line);
    const auto ids = c["ids"].get<std::vector<TokenId>>();
    EXPECT_EQ(t.encode(c["text"].get<std::string>()), ids) << "case " << n;
    EXPECT_EQ(t.decode(ids, false), c["decoded"].get<std::string>()) << "case " << n;
    ++n;
  }
  EXPECT_EQ(n, 117);
}

}  // namespace
}  // namespace tf::tokenizer
