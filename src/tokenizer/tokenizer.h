// A Hugging Face "tokenizer.json" tokenizer (spec §7.1): added tokens matched first in the raw
// text, then normalizer -> pre-tokenizer -> BPE on the rest; decoding through the file's
// decoder. encode() matches `tokenizers`' encode(text, add_special_tokens=False) id for id.
//
// Thread safety: a loaded Tokenizer is immutable apart from an internal, locked piece cache, so
// one instance may encode and decode from several threads at once.
#pragma once

#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "tokenizer/added_vocabulary.h"
#include "tokenizer/bpe_model.h"
#include "tokenizer/decoder.h"
#include "tokenizer/normalizer.h"
#include "tokenizer/pre_tokenizer.h"

namespace tf::tokenizer {

class Tokenizer {
 public:
  // Reads and validates a tokenizer.json; errors name the file and the bad field.
  static Tokenizer from_file(const std::filesystem::path& path);
  // `source` names the JSON in error messages.
  static Tokenizer from_json(const nlohmann::json& spec, const std::string& source = "tokenizer.json");
  // Parses the text with the streaming reader (fast for 10 MB files).
  static Tokenizer from_json_text(std::string_view text, const std::string& source = "tokenizer.json");

  // Text to ids. Added tokens are always recognised (split_special_tokens=false); no BOS/EOS or
  // other post-processing is added. Invalid UTF-8 in `text` is first replaced by U+FFFD.
  std::vector<TokenId> encode(std::string_view text) const;

  // Ids to text. Ids that name no token (e.g. embedding padding rows) decode to nothing.
  // skip_special_tokens drops added tokens marked "special" (non-special ones like <think> stay).
  std::string decode(std::span<const TokenId> ids, bool skip_special_tokens = false) const;

  // Vocabulary string of an id (added tokens first, as Hugging Face), nullopt if none.
  std::optional<std::string> id_to_token(TokenId id) const;
  std::optional<TokenId> token_to_id(std::string_view token) const;
  // True for added tokens flagged special.
  bool is_special(TokenId id) const;
  // One past the largest id any token uses.
  size_t id_space() const;
  const std::vector<AddedToken>& added_tokens() const { return added_.tokens(); }
  const BpeModel& model() const { return model_; }

 private:
  static Tokenizer build(const nlohmann::json& spec, BpeTables* streamed, const std::string& source);

  Normalizer normalizer_;
  PreTokenizer pre_tokenizer_;
  BpeModel model_;
  AddedVocabulary added_;
  Decoder decoder_;
};

}  // namespace tf::tokenizer
