// Every case of the Hugging Face reference fixtures (tests/data/tokenizer, produced by
// `tokenizers` 0.22.2 on the Qwen3.5 tokenizer): identical ids and tokens on encode, identical
// text on decode (with and without skip_special_tokens), and the streaming decoder producing
// the same text one id at a time.
#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tokenizer/byte_level.h"
#include "tokenizer/streaming_decoder.h"
#include "tokenizer/tokenizer.h"

namespace tf::tokenizer {
namespace {

const std::string kDir = std::string(TIGHTFIT_TEST_DATA) + "/tokenizer/";

const Tokenizer& qwen() {
  static const std::unique_ptr<Tokenizer> t = std::make_unique<Tokenizer>(
      Tokenizer::from_file(kDir + "qwen3.5-tokenizer.reconstructed.json"));
  return *t;
}

std::vector<nlohmann::json> read_jsonl(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in) << path;
  std::vector<nlohmann::json> out;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  return out;
}

std::string from_hex(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) out += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  return out;
}

std::string stream_decode(const Tokenizer& t, const std::vector<TokenId>& ids, bool skip) {
  StreamingDecoder d(t, skip);
  std::string out;
  for (TokenId id : ids) out += d.push(id);
  return out + d.flush();
}

TEST(TokenizerFixtures, LoadsQwenVocabulary) {
  const Tokenizer& t = qwen();
  EXPECT_EQ(t.model().vocab_size(), 248044u);
  EXPECT_EQ(t.model().merge_count(), 247587u);
  EXPECT_EQ(t.added_tokens().size(), 33u);
  EXPECT_EQ(t.id_space(), 248077u);
  EXPECT_EQ(t.token_to_id("<|im_end|>"), 248046);
  EXPECT_TRUE(t.is_special(248046));
  EXPECT_FALSE(t.is_special(248068));  // <think> is added but not special
  EXPECT_EQ(t.id_to_token(220), "\xC4\xA0");  // "Ġ"
  EXPECT_FALSE(t.id_to_token(248100).has_value());
}

TEST(TokenizerFixtures, EncodeCasesMatchHuggingFace) {
  const Tokenizer& t = qwen();
  const auto cases = read_jsonl(kDir + "cases.jsonl");
  ASSERT_EQ(cases.size(), 396u);
  int failures = 0;
  for (const auto& c : cases) {
    const std::string text = from_hex(c["text_utf8_hex"].get<std::string>());
    const auto expected = c["ids"].get<std::vector<TokenId>>();
    const auto ids = t.encode(text);
    if (ids != expected) {
      ADD_FAILURE() << c["id"] << " (" << c["category"] << ") " << c["text"].dump() << "\n  got  "
                    << nlohmann::json(ids).dump() << "\n  want " << nlohmann::json(expected).dump();
      if (++failures > 10) break;
      continue;
    }
    const auto tokens = c["tokens"].get<std::vector<std::string>>();
    for (size_t i = 0; i < ids.size(); ++i) EXPECT_EQ(t.id_to_token(ids[i]), tokens[i]) << c["id"];
  }
}

// Strings from tightfit's own differential fuzzing (whitespace oddities such as U+0085 and
// U+180E, scripts, marks, added tokens), with ids from the same Hugging Face build.
TEST(TokenizerFixtures, ExtraCasesMatchHuggingFace) {
  const Tokenizer& t = qwen();
  const auto cases = read_jsonl(std::string(TIGHTFIT_TEST_DATA) + "/tokenizer-extra/cases.jsonl");
  ASSERT_EQ(cases.size(), 300u);
  for (const auto& c : cases) {
    const std::string text = from_hex(c["text_utf8_hex"].get<std::string>());
    const auto ids = c["ids"].get<std::vector<TokenId>>();
    EXPECT_EQ(t.encode(text), ids) << c["id"] << " " << c["text"].dump();
    EXPECT_EQ(t.decode(ids), c["decoded"].get<std::string>()) << c["id"];
  }
}

TEST(TokenizerFixtures, DecodeCasesMatchHuggingFace) {
  const Tokenizer& t = qwen();
  for (const char* file : {"cases.jsonl", "decode-cases.jsonl"}) {
    for (const auto& c : read_jsonl(kDir + file)) {
      const auto ids = c["ids"].get<std::vector<TokenId>>();
      const std::string name = c.contains("id") ? c["id"].get<std::string>() : c["name"].get<std::string>();
      const auto decoded = c["decoded"].get<std::string>();
      const auto skipped = c["decoded_skip_special"].get<std::string>();
      EXPECT_EQ(t.decode(ids, false), decoded) << name;
      EXPECT_EQ(t.decode(ids, true), skipped) << name;
      EXPECT_EQ(stream_decode(t, ids, false), decoded) << name << " (streaming)";
      EXPECT_EQ(stream_decode(t, ids, true), skipped) << name << " (streaming, skip special)";
      if (c.value("roundtrip_exact", false)) EXPECT_EQ(decoded, from_hex(c["text_utf8_hex"].get<std::string>()));
    }
  }
}

TEST(TokenizerFixtures, StreamingNeverEmitsHalfACharacter) {
  const Tokenizer& t = qwen();
  // "你好🙂" fed as one byte-level token per byte: text appears only once a character is whole.
  const std::string text = "\xE4\xBD\xA0\xE5\xA5\xBD\xF0\x9F\x99\x82";
  std::vector<std::string> pieces;
  StreamingDecoder d(t);
  for (unsigned char b : text) {
    const auto id = t.token_to_id(byte_level_map().char_for_byte(b));
    ASSERT_TRUE(id.has_value());
    pieces.push_back(d.push(*id));
  }
  pieces.push_back(d.flush());
  const std::vector<std::string> expected = {"", "", "\xE4\xBD\xA0", "", "", "\xE5\xA5\xBD",
                                             "", "", "", "\xF0\x9F\x99\x82", ""};
  EXPECT_EQ(pieces, expected);
}

TEST(TokenizerFixtures, StreamingFlushRendersAnUnfinishedCharacter) {
  const Tokenizer& t = qwen();
  StreamingDecoder d(t);
  EXPECT_EQ(d.push(*t.token_to_id("a")), "a");
  EXPECT_EQ(d.push(*t.token_to_id(byte_level_map().char_for_byte(0xE4))), "");
  EXPECT_EQ(d.flush(), "\xEF\xBF\xBD");  // as decode() renders the truncated sequence
  EXPECT_EQ(d.push(*t.token_to_id("b")), "b");  // flush started a new stream
}

TEST(TokenizerFixtures, StreamingSkipsSpecialTokensWithoutStalling) {
  const Tokenizer& t = qwen();
  StreamingDecoder d(t, /*skip_special_tokens=*/true);
  std::string out;
  for (int k = 0; k < 20; ++k) out += d.push(248046);  // <|im_end|>, skipped
  out += d.push(*t.token_to_id("x"));
  EXPECT_EQ(out, "x");
  EXPECT_EQ(d.flush(), "");
}

}  // namespace
}  // namespace tf::tokenizer
