#include "tokenizer/added_vocabulary.h"

#include <algorithm>
#include <stdexcept>

#include "tokenizer/json_fields.h"
#include "tokenizer/unicode_normalize.h"
#include "tokenizer/utf8.h"

namespace tf::tokenizer {
namespace {

// Start of the character that ends at byte `end` (s[..end] is valid UTF-8).
size_t char_start_before(std::string_view s, size_t end) {
  size_t i = end - 1;
  while (i > 0 && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) --i;
  return i;
}

char32_t char_before(std::string_view s, size_t end) {
  size_t n = 0;
  return utf8_decode_at(s, char_start_before(s, end), &n);
}

// Rust's `c.is_alphanumeric() || c == '_'`, the word test of single_word tokens.
bool is_word_char(char32_t c) { return c == '_' || unicode_is_alphanumeric(c); }

}  // namespace

void AddedTokenMatcher::add(std::string pattern, size_t token_index) {
  if (pattern.empty()) return;  // an empty token can never be matched
  const auto first = static_cast<unsigned char>(pattern[0]);
  patterns_.push_back({std::move(pattern), token_index});
  auto& bucket = by_first_byte_[first];
  bucket.push_back(patterns_.size() - 1);
  std::stable_sort(bucket.begin(), bucket.end(), [&](size_t a, size_t b) {
    return patterns_[a].text.size() > patterns_[b].text.size();
  });
}

std::vector<Segment> AddedTokenMatcher::split(std::string_view text,
                                              const std::vector<AddedToken>& tokens) const {
  std::vector<Segment> out;
  size_t emitted = 0;  // end of the last emitted segment
  size_t pos = 0;
  while (pos < text.size()) {
    const auto& bucket = by_first_byte_[static_cast<unsigned char>(text[pos])];
    const Pattern* hit = nullptr;
    for (size_t index : bucket) {
      const Pattern& p = patterns_[index];
      if (text.compare(pos, p.text.size(), p.text) == 0) {
        hit = &p;
        break;
      }
    }
    if (!hit) {
      ++pos;
      continue;
    }
    const AddedToken& token = tokens[hit->token_index];
    size_t begin = pos, end = pos + hit->text.size();
    if (token.single_word) {
      const bool word_before = begin > 0 && is_word_char(char_before(text, begin));
      size_t n = 0;
      const bool word_after = end < text.size() && utf8_valid_length(text, end) > 0 &&
                              is_word_char(utf8_decode_at(text, end, &n));
      if (word_before || word_after) {
        pos = end;  // not a whole word: matching resumes after it, as Hugging Face's does
        continue;
      }
    }
    if (token.lstrip) {  // absorb whitespace before the token, not past the previous match
      while (begin > emitted && unicode_is_whitespace(char_before(text, begin)))
        begin = char_start_before(text, begin);
    }
    if (token.rstrip) {  // absorb whitespace after it
      while (end < text.size()) {
        size_t n = 0;
        if (utf8_valid_length(text, end) == 0 || !unicode_is_whitespace(utf8_decode_at(text, end, &n))) break;
        end += n;
      }
    }
    if (begin > emitted) out.push_back({-1, text.substr(emitted, begin - emitted)});
    out.push_back({token.id, text.substr(begin, end - begin)});
    emitted = end;
    pos = end;
  }
  if (emitted < text.size() || out.empty()) out.push_back({-1, text.substr(emitted)});
  return out;
}

std::vector<AddedToken> AddedVocabulary::parse(const nlohmann::json& spec) {
  std::vector<AddedToken> tokens;
  if (spec.is_null()) return tokens;
  if (!spec.is_array()) throw std::runtime_error("added_tokens: expected an array");
  for (size_t i = 0; i < spec.size(); ++i) {
    const std::string where = "added_tokens[" + std::to_string(i) + "]";
    const auto& t = spec[i];
    AddedToken token;
    const int64_t id = json_int(t, "id", where);
    if (id < 0 || id > INT32_MAX) throw std::runtime_error(where + ": id " + std::to_string(id) + " is out of range");
    token.id = static_cast<TokenId>(id);
    token.content = json_string(t, "content", where);
    if (!utf8_is_valid(token.content)) throw std::runtime_error(where + ": content is not valid UTF-8");
    token.special = json_bool_or(t, "special", false, where);
    token.lstrip = json_bool_or(t, "lstrip", false, where);
    token.rstrip = json_bool_or(t, "rstrip", false, where);
    token.normalized = json_bool_or(t, "normalized", !token.special, where);
    token.single_word = json_bool_or(t, "single_word", false, where);
    tokens.push_back(std::move(token));
  }
  return tokens;
}

void AddedVocabulary::finish(const std::vector<std::string>& normalized_forms) {
  for (size_t i = 0; i < tokens_.size(); ++i) {
    const AddedToken& t = tokens_[i];
    if (by_id_.count(t.id))
      throw std::runtime_error("added_tokens: id " + std::to_string(t.id) + " appears twice");
    by_id_.emplace(t.id, i);
    by_content_.emplace(t.content, t.id);
    (t.normalized ? normalized_ : raw_).add(normalized_forms[i], i);
  }
}

const AddedToken* AddedVocabulary::find(TokenId id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &tokens_[it->second];
}

std::optional<TokenId> AddedVocabulary::find(std::string_view content) const {
  auto it = by_content_.find(std::string(content));
  if (it == by_content_.end()) return std::nullopt;
  return it->second;
}

}  // namespace tf::tokenizer
