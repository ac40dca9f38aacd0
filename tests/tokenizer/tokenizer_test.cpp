// Tokenizer behaviour beyond the Qwen fixtures, on small tokenizer.json files built here:
// added-token flags (lstrip, rstrip, single_word, normalized, longest match), a
// SentencePiece-style BPE (Metaspace, byte fallback, decoder chain), malformed files with the
// messages they must give, model-folder loading, and robustness (invalid UTF-8, long runs).
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tokenizer/byte_level.h"
#include "tokenizer/regex.h"
#include "tokenizer/streaming_decoder.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/tokenizer_config.h"

namespace tf::tokenizer {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// A byte-level tokenizer: id b is the alphabet character of byte b, then one id per merge result.
json byte_level_spec(const std::vector<std::pair<std::string, std::string>>& merges, json added = json::array()) {
  json vocab = json::object();
  for (int b = 0; b < 256; ++b) vocab[byte_level_map().char_for_byte(static_cast<unsigned char>(b))] = b;
  json merge_list = json::array();
  int next = 256;
  for (const auto& [a, b] : merges) {
    const std::string ma = byte_level_map().encode(a), mb = byte_level_map().encode(b);
    if (!vocab.contains(ma + mb)) vocab[ma + mb] = next++;
    merge_list.push_back(json::array({ma, mb}));
  }
  return {{"version", "1.0"},
          {"added_tokens", added},
          {"normalizer", nullptr},
          {"pre_tokenizer",
           {{"type", "Sequence"},
            {"pretokenizers",
             {{{"type", "Split"}, {"pattern", {{"Regex", R"( ?\p{L}+|\s+|[^\s\p{L}]+)"}}}, {"behavior", "Isolated"}, {"invert", false}},
              {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}}}}},
          {"decoder", {{"type", "ByteLevel"}}},
          {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", merge_list}}}};
}

json added_token(int id, const std::string& content, json flags = json::object()) {
  json t = {{"id", id}, {"content", content}, {"special", true}, {"lstrip", false}, {"rstrip", false},
            {"normalized", false}, {"single_word", false}};
  for (auto it = flags.begin(); it != flags.end(); ++it) t[it.key()] = it.value();
  return t;
}

std::vector<TokenId> ids_of(const Tokenizer& t, std::initializer_list<std::string> texts) {
  std::vector<TokenId> out;
  for (const auto& s : texts) {
    auto v = t.encode(s);
    out.insert(out.end(), v.begin(), v.end());
  }
  return out;
}

std::string error_of(const json& spec) {
  try {
    Tokenizer::from_json(spec, "tok.json");
  } catch (const std::exception& e) {
    return e.what();
  }
  return "(loaded)";
}

TEST(Tokenizer, MergesByRankNotByLength) {
  // "abc": the pair (b, c) has the better rank, so a + bc, never ab + c.
  const Tokenizer t = Tokenizer::from_json(byte_level_spec({{"b", "c"}, {"a", "b"}, {"a", "bc"}}));
  EXPECT_EQ(t.encode("abc"), (std::vector<TokenId>{*t.token_to_id("abc")}));
  EXPECT_EQ(t.encode("ab"), (std::vector<TokenId>{*t.token_to_id("ab")}));
  EXPECT_EQ(t.decode(t.encode("abc abd")), "abc abd");
}

TEST(Tokenizer, AddedTokensLongestMatchFirst) {
  const Tokenizer t = Tokenizer::from_json(byte_level_spec({}, json::array({added_token(300, "<a>"), added_token(301, "<a><b>")})));
  EXPECT_EQ(t.encode("x<a><b>y<a>"), (std::vector<TokenId>{'x', 301, 'y', 300}));
}

TEST(Tokenizer, AddedTokenLstripAndRstripAbsorbWhitespace) {
  const Tokenizer t = Tokenizer::from_json(byte_level_spec(
      {}, json::array({added_token(300, "<L>", {{"lstrip", true}}), added_token(301, "<R>", {{"rstrip", true}})})));
  // "a  <L>" : both spaces go into <L>; "<R>  b": both spaces go into <R>.
  EXPECT_EQ(t.encode("a  <L>"), (std::vector<TokenId>{'a', 300}));
  EXPECT_EQ(t.encode("<R>  b"), (std::vector<TokenId>{301, 'b'}));
  EXPECT_EQ(t.encode("a <R> b"), (std::vector<TokenId>{'a', ' ', 301, 'b'}));
}

TEST(Tokenizer, SingleWordTokensOnlyMatchWholeWords) {
  const Tokenizer t = Tokenizer::from_json(byte_level_spec({}, json::array({added_token(300, "ok", {{"single_word", true}})})));
  EXPECT_EQ(t.encode("ok"), (std::vector<TokenId>{300}));
  EXPECT_EQ(t.encode("ok."), (std::vector<TokenId>{300, '.'}));
  EXPECT_EQ(t.encode("okay"), ids_of(t, {"o", "k", "a", "y"}));
}

TEST(Tokenizer, NormalizedAddedTokensMatchAfterNormalization) {
  json spec = byte_level_spec({}, json::array({added_token(300, "hello", {{"normalized", true}, {"special", false}})}));
  spec["normalizer"] = {{"type", "Sequence"}, {"normalizers", {{{"type", "NFC"}}, {{"type", "Lowercase"}}}}};
  const Tokenizer t = Tokenizer::from_json(spec);
  EXPECT_EQ(t.encode("HeLLo!"), (std::vector<TokenId>{300, '!'}));
  EXPECT_FALSE(t.is_special(300));
  EXPECT_EQ(t.decode(t.encode("HeLLo!"), true), "hello!");  // non-special: kept by skip_special
}

TEST(Tokenizer, SkipSpecialTokensDropsOnlySpecialOnes) {
  const Tokenizer t = Tokenizer::from_json(
      byte_level_spec({}, json::array({added_token(300, "<s>"), added_token(301, "<keep>", {{"special", false}})})));
  const std::vector<TokenId> ids = t.encode("<s>x<keep>");
  EXPECT_EQ(t.decode(ids, false), "<s>x<keep>");
  EXPECT_EQ(t.decode(ids, true), "x<keep>");
}

// A SentencePiece-converted BPE: Metaspace pre-tokenizer, byte fallback, decoder chain.
json sentencepiece_spec() {
  json vocab = {{"<unk>", 0}};
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof(name), "<0x%02X>", b);
    vocab[name] = b + 1;
  }
  const std::string sp = "\xE2\x96\x81";  // ▁
  vocab[sp] = 257;
  vocab["a"] = 258;
  vocab["b"] = 259;
  vocab[sp + "a"] = 260;
  vocab["ab"] = 261;
  vocab[sp + "ab"] = 262;
  return {{"added_tokens", json::array({added_token(0, "<unk>")})},
          {"normalizer", nullptr},
          {"pre_tokenizer", {{"type", "Metaspace"}, {"replacement", sp}, {"prepend_scheme", "first"}, {"split", false}}},
          {"decoder",
           {{"type", "Sequence"},
            {"decoders",
             {{{"type", "Replace"}, {"pattern", {{"String", sp}}}, {"content", " "}},
              {{"type", "ByteFallback"}},
              {{"type", "Fuse"}},
              {{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}}}}}},
          {"model",
           {{"type", "BPE"}, {"vocab", vocab}, {"merges", {sp + " a", "a b", sp + "a b"}}, {"byte_fallback", true},
            {"unk_token", "<unk>"}, {"fuse_unk", true}}}};
}

TEST(Tokenizer, SentencePieceStyleBpeWithByteFallback) {
  const Tokenizer t = Tokenizer::from_json(sentencepiece_spec());
  EXPECT_EQ(t.encode("ab ab"), (std::vector<TokenId>{262, 262}));
  EXPECT_EQ(t.encode("\xC3\xA9"), (std::vector<TokenId>{257, 0xC3 + 1, 0xA9 + 1}));  // "é" -> ▁ <0xC3> <0xA9>
  EXPECT_EQ(t.decode(std::vector<TokenId>{262, 262}), "ab ab");
  EXPECT_EQ(t.decode(std::vector<TokenId>{257, 0xC3 + 1, 0xA9 + 1}), "\xC3\xA9");
  // A lone continuation byte is invalid: ByteFallback makes one U+FFFD per byte token.
  EXPECT_EQ(t.decode(std::vector<TokenId>{260, 0xA9 + 1, 0xA9 + 1}), "a\xEF\xBF\xBD\xEF\xBF\xBD");
  // Streaming gives the same text, with the leading space of the first token stripped once.
  for (const auto& ids : {std::vector<TokenId>{262, 262, 257, 0xC3 + 1, 0xA9 + 1, 260}, std::vector<TokenId>{260, 0xA9 + 1}}) {
    StreamingDecoder d(t);
    std::string out;
    for (TokenId id : ids) out += d.push(id);
    out += d.flush();
    EXPECT_EQ(out, t.decode(ids));
  }
}

TEST(Tokenizer, MalformedFilesGiveActionableErrors) {
  EXPECT_NE(error_of(json::array()).find("tok.json: the top level is not a JSON object"), std::string::npos);
  json spec = byte_level_spec({{"a", "b"}});
  spec.erase("model");
  EXPECT_NE(error_of(spec).find("missing field \"model\""), std::string::npos);

  spec = byte_level_spec({{"a", "b"}});
  spec["model"]["merges"].push_back(json::array({"a", "\xE2\x98\x83"}));
  EXPECT_NE(error_of(spec).find("model.merges[1]: token \"\xE2\x98\x83\" is not in the vocabulary"), std::string::npos);

  spec = byte_level_spec({{"a", "b"}});
  spec["model"]["merges"].push_back("a b c");
  EXPECT_NE(error_of(spec).find("model.merges[1]: \"a b c\" is not two tokens"), std::string::npos);

  spec = byte_level_spec({});
  spec["model"]["merges"].push_back(json::array({"a", "b"}));  // "ab" missing from the vocab
  EXPECT_NE(error_of(spec).find("(the merge result) is not in the vocabulary"), std::string::npos);

  spec = byte_level_spec({});
  spec["model"]["type"] = "WordPiece";
  EXPECT_NE(error_of(spec).find("model type 'WordPiece' is not supported"), std::string::npos);

  spec = byte_level_spec({});
  spec["model"]["vocab"]["dup"] = 5;
  EXPECT_NE(error_of(spec).find("id 5 is used by both"), std::string::npos);

  spec = byte_level_spec({});
  spec["model"]["vocab"]["neg"] = -1;
  EXPECT_NE(error_of(spec).find("the id of token \"neg\" is not a non-negative integer"), std::string::npos);

  spec = byte_level_spec({});
  spec["normalizer"] = {{"type", "Precompiled"}};
  EXPECT_NE(error_of(spec).find("unsupported normalizer type 'Precompiled'"), std::string::npos);

  spec = byte_level_spec({});
  spec["pre_tokenizer"] = {{"type", "Split"}, {"pattern", {{"Regex", "(unclosed"}}}, {"behavior", "Isolated"}};
  EXPECT_NE(error_of(spec).find("invalid regex /(unclosed/"), std::string::npos);

  spec = byte_level_spec({});
  spec["pre_tokenizer"] = {{"type", "Split"}, {"pattern", {{"Regex", "x"}}}, {"behavior", "Sideways"}};
  EXPECT_NE(error_of(spec).find("unknown split behavior 'Sideways'"), std::string::npos);

  spec = byte_level_spec({});
  spec["added_tokens"] = json::array({{{"id", "seven"}, {"content", "<x>"}}});
  EXPECT_NE(error_of(spec).find("added_tokens[0]: field \"id\" must be an integer"), std::string::npos);

  spec = byte_level_spec({});
  spec["decoder"] = {{"type", "CTC"}};
  EXPECT_NE(error_of(spec).find("unsupported decoder type 'CTC'"), std::string::npos);

  try {
    Tokenizer::from_json_text("{\"model\": ", "broken.json");
    FAIL();
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("broken.json is not valid JSON"), std::string::npos) << e.what();
  }
  try {
    Tokenizer::from_file("/nonexistent/tokenizer.json");
    FAIL();
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("cannot open tokenizer file /nonexistent/tokenizer.json"), std::string::npos);
  }
}

size_t count_matches(const std::string& pattern, const std::string& text) {
  size_t n = 0;
  Regex(pattern).for_each_match(text, [&](size_t, size_t) { ++n; });
  return n;
}

TEST(Regex, WhitespaceIsUnicodeWhiteSpaceLikeOniguruma) {
  // PCRE2 alone would miss U+0085 and match U+180E; Oniguruma (Hugging Face) does the opposite.
  const std::string nel = "\xC2\x85", mvs = "\xE1\xA0\x8E", nbsp = "\xC2\xA0", ideographic = "\xE3\x80\x80";
  EXPECT_EQ(count_matches(R"(\s)", nel), 1u);
  EXPECT_EQ(count_matches(R"(\s)", mvs), 0u);
  EXPECT_EQ(count_matches(R"(\S)", mvs), 1u);
  EXPECT_EQ(count_matches(R"(\S)", nel), 0u);
  EXPECT_EQ(count_matches(R"([^\s\p{L}])", nel + mvs), 1u);  // only U+180E
  EXPECT_EQ(count_matches(R"(\s)", nbsp + ideographic + " \t\n\r\v\f"), 8u);
  EXPECT_EQ(onig_compatible_pattern(R"(a\\s[\]x])"), R"(a\\s[\]x])");  // escaped backslash, ']' first in class
  std::vector<std::pair<size_t, size_t>> hits;
  Regex(R"(\s+)").for_each_match("a" + nel + " b", [&](size_t b, size_t e) { hits.emplace_back(b, e); });
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0], (std::pair<size_t, size_t>{1, 4}));
}

TEST(Tokenizer, InvalidUtf8IsReplacedAndLongRunsStayFast) {
  const Tokenizer t = Tokenizer::from_json(byte_level_spec({{"x", "x"}, {"xx", "xx"}, {" ", " "}}));
  EXPECT_EQ(t.encode("a\xFF" "b"), t.encode("a\xEF\xBF\xBD" "b"));
  // Without a per-piece linear merge a 200k-character word would take minutes.
  const std::string xs(200000, 'x');
  const auto ids = t.encode(xs);
  EXPECT_EQ(ids.size(), 50000u);
  EXPECT_EQ(t.decode(ids), xs);
  const std::string spaces(100000, ' ');
  EXPECT_EQ(t.decode(t.encode(spaces)), spaces);
}

// ---- model folders ----

struct TempDir {
  fs::path path;
  explicit TempDir(const std::string& name)
      : path(fs::path(testing::TempDir()) / ("tf-tok-" + name + "-" + std::to_string(getpid()))) {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
  void write(const std::string& file, const std::string& text) const { std::ofstream(path / file, std::ios::binary) << text; }
};

TEST(ModelTokenizer, LoadsConfigAndPrefersTheJinjaFile) {
  TempDir dir("folder");
  dir.write("tokenizer.json", byte_level_spec({{"a", "b"}}, json::array({added_token(300, "<|im_end|>")})).dump());
  dir.write("tokenizer_config.json",
            R"({"bos_token": {"content": "<s>", "lstrip": false}, "eos_token": "<|im_end|>", "pad_token": null,
                "add_bos_token": true, "chat_template": "from config"})");
  ModelTokenizer m = ModelTokenizer::load(dir.path);
  EXPECT_EQ(m.config.bos_token, "<s>");
  EXPECT_EQ(m.config.eos_token, "<|im_end|>");
  EXPECT_FALSE(m.config.pad_token.has_value());
  EXPECT_TRUE(m.config.add_bos_token);
  EXPECT_EQ(m.id_of(m.config.eos_token), 300);
  EXPECT_EQ(m.config.select_chat_template(false), "from config");

  dir.write("chat_template.jinja", "from file");
  EXPECT_EQ(load_tokenizer_config(dir.path).select_chat_template(false), "from file");
}

TEST(ModelTokenizer, NamedTemplatesPickToolUseWhenToolsAreGiven) {
  const TokenizerConfig c = parse_tokenizer_config(
      json::parse(R"({"chat_template": [{"name": "default", "template": "D"}, {"name": "tool_use", "template": "T"}]})"),
      "tokenizer_config.json");
  EXPECT_EQ(c.select_chat_template(false), "D");
  EXPECT_EQ(c.select_chat_template(true), "T");
  const TokenizerConfig none = parse_tokenizer_config(json::object(), "tokenizer_config.json");
  EXPECT_THROW(none.select_chat_template(false), std::runtime_error);
  EXPECT_THROW(parse_tokenizer_config(json::parse(R"({"chat_template": 3})"), "c.json"), std::runtime_error);
  EXPECT_THROW(parse_tokenizer_config(json::parse(R"({"eos_token": 3})"), "c.json"), std::runtime_error);
}

TEST(ModelTokenizer, MissingFilesAreNamed) {
  TempDir dir("empty");
  try {
    ModelTokenizer::load(dir.path);
    FAIL();
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("has no tokenizer.json"), std::string::npos) << e.what();
  }
  EXPECT_THROW(ModelTokenizer::load(dir.path / "nope"), std::runtime_error);
  dir.write("tokenizer.json", byte_level_spec({}).dump());
  dir.write("tokenizer_config.json", "{not json");
  try {
    ModelTokenizer::load(dir.path);
    FAIL();
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("tokenizer_config.json is not valid JSON"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace tf::tokenizer
