// Added tokens ("added_tokens" in tokenizer.json): matched as whole tokens before the model
// sees the text, whether or not they are special (spec §7.1). Tokens with "normalized": false
// are found in the raw text; those with "normalized": true in the normalized text. Matching is
// leftmost-longest, with the lstrip/rstrip/single_word flags of Hugging Face.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "tokenizer/bpe_model.h"

namespace tf::tokenizer {

struct AddedToken {
  TokenId id = 0;
  std::string content;
  bool special = false;
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = false;
  bool single_word = false;
};

// A piece of input: either an added token (id >= 0) or text still to be tokenized.
struct Segment {
  TokenId id = -1;
  std::string_view text;
};

// Finds occurrences of a fixed set of strings, leftmost first and longest at a position.
class AddedTokenMatcher {
 public:
  void add(std::string pattern, size_t token_index);
  bool empty() const { return patterns_.empty(); }
  // Cuts `text` into text segments and matches; `tokens` gives each match's flags and id.
  std::vector<Segment> split(std::string_view text, const std::vector<AddedToken>& tokens) const;

 private:
  struct Pattern {
    std::string text;
    size_t token_index;
  };
  std::vector<Pattern> patterns_;       // sorted longest first within each first byte
  std::array<std::vector<size_t>, 256> by_first_byte_;
};

class AddedVocabulary {
 public:
  // `spec` is the "added_tokens" array (null = none). `normalize` maps a normalized token's
  // content to its matching form.
  template <typename NormalizeFn>
  static AddedVocabulary from_json(const nlohmann::json& spec, NormalizeFn normalize);

  const std::vector<AddedToken>& tokens() const { return tokens_; }
  const AddedToken* find(TokenId id) const;
  std::optional<TokenId> find(std::string_view content) const;
  const AddedTokenMatcher& raw_matcher() const { return raw_; }
  const AddedTokenMatcher& normalized_matcher() const { return normalized_; }

 private:
  void finish(const std::vector<std::string>& normalized_forms);
  static std::vector<AddedToken> parse(const nlohmann::json& spec);

  std::vector<AddedToken> tokens_;
  std::unordered_map<TokenId, size_t> by_id_;
  std::unordered_map<std::string, TokenId> by_content_;
  AddedTokenMatcher raw_, normalized_;
};

template <typename NormalizeFn>
AddedVocabulary AddedVocabulary::from_json(const nlohmann::json& spec, NormalizeFn normalize) {
  AddedVocabulary v;
  v.tokens_ = parse(spec);
  std::vector<std::string> forms;
  forms.reserve(v.tokens_.size());
  for (const auto& t : v.tokens_) forms.push_back(t.normalized ? normalize(t.content) : t.content);
  v.finish(forms);
  return v;
}

}  // namespace tf::tokenizer
