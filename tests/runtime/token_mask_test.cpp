// TokenMask: the walk in byte order must allow exactly the tokens whose bytes, fed one by one,
// the constraint takes (checked token by token), on the tiny model's 512-token vocabulary and on
// the real Qwen3.5 vocabulary (248K tokens, multi-byte pieces, the free-string shortcut).
#include "runtime/token_mask.h"

#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace tf {
namespace {

const std::string kData = TIGHTFIT_TEST_DATA;

std::vector<uint8_t> brute_force(const TokenMask& mask, const JsonConstraint& state, bool allow_added) {
  std::vector<uint8_t> out(static_cast<size_t>(mask.vocab_size()), 0);
  for (int32_t t = 0; t < mask.vocab_size(); ++t) {
    if (mask.bytes(t).empty() || (mask.is_added(t) && !allow_added)) continue;
    JsonConstraint c = state;
    out[static_cast<size_t>(t)] = c.advance(mask.bytes(t)) ? 1 : 0;
  }
  return out;
}

// States along a text: after each of `cuts` bytes.
std::vector<JsonConstraint> states_along(std::shared_ptr<const JsonSchemaGraph> graph,
                                         const std::string& text) {
  std::vector<JsonConstraint> states;
  JsonConstraint c(std::move(graph));
  states.push_back(c);
  for (char ch : text) {
    EXPECT_TRUE(c.advance(static_cast<uint8_t>(ch))) << text;
    states.push_back(c);
  }
  return states;
}

void expect_walk_matches_brute_force(const TokenMask& mask, const std::vector<JsonConstraint>& states,
                                     bool allow_added) {
  std::vector<uint8_t> allowed;
  for (size_t i = 0; i < states.size(); ++i) {
    mask.allowed(states[i], allow_added, allowed);
    const std::vector<uint8_t> expected = brute_force(mask, states[i], allow_added);
    size_t differences = 0;
    for (size_t t = 0; t < expected.size(); ++t) differences += allowed[t] != expected[t];
    EXPECT_EQ(differences, 0u) << "after byte " << i;
  }
}

const tokenizer::Tokenizer& tiny_tokenizer() {
  static const tokenizer::Tokenizer tok =
      tokenizer::Tokenizer::from_file(kData + "/../../models/tiny-random/tokenizer.json");
  return tok;
}

TEST(TokenMask, TinyVocabularyAfterAnOpeningBrace) {
  const TokenMask mask(tiny_tokenizer(), 512);
  JsonConstraint c(std::make_shared<const JsonSchemaGraph>(json_object_graph()));
  ASSERT_TRUE(c.advance('{'));
  std::vector<uint8_t> allowed;
  mask.allowed(c, false, allowed);
  auto id = [&](const std::string& text) { return *tiny_tokenizer().token_to_id(text); };
  EXPECT_TRUE(allowed[id("\"")]);
  EXPECT_TRUE(allowed[id("}")]);
  EXPECT_TRUE(allowed[id("Ġ")]);   // the space byte
  EXPECT_TRUE(allowed[id("Ċ")]);   // the newline byte
  EXPECT_FALSE(allowed[id("a")]);
  EXPECT_FALSE(allowed[id("]")]);
  EXPECT_FALSE(allowed[id("<tool_call>")]);  // added tokens never inside JSON
  EXPECT_FALSE(allowed[id("<|im_end|>")]);
}

TEST(TokenMask, TinyVocabularyWalkMatchesTokenByTokenCheck) {
  const TokenMask mask(tiny_tokenizer(), 512);
  const auto graph = std::make_shared<const JsonSchemaGraph>(compile_json_schema(nlohmann::json::parse(
      R"({"type": "object", "properties": {"name": {"type": "string"}, "n": {"type": "integer"},
          "tags": {"type": "array", "items": {"enum": ["in", "out"]}}},
          "required": ["name"], "additionalProperties": false})")));
  expect_walk_matches_brute_force(
      mask, states_along(graph, R"( {"name": "a\u00e9 b\"", "n": -12, "tags": ["in", "out"]})"), false);
}

TEST(TokenMask, AddedTokensOnlyWhenAllowed) {
  const TokenMask mask(tiny_tokenizer(), 512);
  const auto graph = std::make_shared<const JsonSchemaGraph>(literal_graph({"<tool_call>\n<function=f>"}));
  const JsonConstraint c(graph);
  std::vector<uint8_t> allowed;
  mask.allowed(c, true, allowed);
  const int32_t tool_call = *tiny_tokenizer().token_to_id("<tool_call>");
  EXPECT_TRUE(allowed[static_cast<size_t>(tool_call)]);
  EXPECT_TRUE(allowed[*tiny_tokenizer().token_to_id("<")]);
  EXPECT_FALSE(allowed[*tiny_tokenizer().token_to_id("</tool_call>")]);
  mask.allowed(c, false, allowed);
  EXPECT_FALSE(allowed[static_cast<size_t>(tool_call)]);
}

TEST(TokenMask, RealVocabularyWalkMatchesTokenByTokenCheck) {
  const tokenizer::Tokenizer tok =
      tokenizer::Tokenizer::from_file(kData + "/tokenizer/qwen3.5-tokenizer.reconstructed.json");
  const TokenMask mask(tok, static_cast<int32_t>(tok.id_space()));
  const auto graph = std::make_shared<const JsonSchemaGraph>(json_object_graph());
  std::vector<JsonConstraint> states = states_along(graph, "{\"k\u00e9y\": [1.5e3, \"x\\n");
  // A few positions: the start, after '{', inside a key, after a number's exponent digit, in a
  // string after an escape.
  std::vector<JsonConstraint> picked = {states[0], states[1], states[3], states[15], states[states.size() - 1]};
  expect_walk_matches_brute_force(mask, picked, false);
}

}  // namespace
}  // namespace tf
