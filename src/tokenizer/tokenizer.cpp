#include "tokenizer/tokenizer.h"

#include <fstream>
#include <sstream>
#include <stdexcept>

#include "tokenizer/json_fields.h"
#include "tokenizer/tokenizer_json_reader.h"
#include "tokenizer/utf8.h"

namespace tf::tokenizer {

Tokenizer Tokenizer::from_json(const nlohmann::json& spec, const std::string& source) {
  return build(spec, nullptr, source);
}

Tokenizer Tokenizer::build(const nlohmann::json& spec, BpeTables* streamed, const std::string& source) {
  try {
    if (!spec.is_object()) throw std::runtime_error("the top level is not a JSON object");
    Tokenizer t;
    t.model_ = BpeModel::from_json(json_field(spec, "model", "top level"), streamed);
    t.normalizer_ = Normalizer::from_json(spec.value("normalizer", nlohmann::json()));
    t.pre_tokenizer_ = PreTokenizer::from_json(spec.value("pre_tokenizer", nlohmann::json()));
    t.decoder_ = Decoder::from_json(spec.value("decoder", nlohmann::json()));
    const Normalizer& normalizer = t.normalizer_;
    t.added_ = AddedVocabulary::from_json(spec.value("added_tokens", nlohmann::json()),
                                          [&](const std::string& s) { return normalizer.apply(s); });
    return t;
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(source + ": malformed tokenizer: " + e.what());
  } catch (const std::exception& e) {
    throw std::runtime_error(source + ": " + e.what());
  }
}

Tokenizer Tokenizer::from_json_text(std::string_view text, const std::string& source) {
  TokenizerJson parsed = read_tokenizer_json(text, source);
  return build(parsed.rest, &parsed.tables, source);
}

Tokenizer Tokenizer::from_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open tokenizer file " + path.string());
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return from_json_text(buffer.str(), path.string());
}

std::vector<TokenId> Tokenizer::encode(std::string_view input) const {
  std::string repaired;
  if (!utf8_is_valid(input)) {
    repaired = utf8_lossy(input);
    input = repaired;
  }
  std::vector<TokenId> ids;
  ids.reserve(input.size() / 3 + 4);
  for (const Segment& raw : added_.raw_matcher().split(input, added_.tokens())) {
    if (raw.id >= 0) {
      ids.push_back(raw.id);
      continue;
    }
    const bool at_start = raw.text.data() == input.data();
    const std::string normalized = normalizer_.apply(raw.text);
    bool first = true;
    for (const Segment& seg : added_.normalized_matcher().split(normalized, added_.tokens())) {
      if (seg.id >= 0) {
        ids.push_back(seg.id);
      } else {
        pre_tokenizer_.apply(seg.text, at_start && first, [&](std::string_view piece) { model_.encode_piece(piece, ids); });
      }
      first = false;
    }
  }
  return ids;
}

std::string Tokenizer::decode(std::span<const TokenId> ids, bool skip_special_tokens) const {
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (TokenId id : ids) {
    if (const AddedToken* added = added_.find(id)) {
      if (!(skip_special_tokens && added->special)) tokens.push_back(added->content);
    } else if (const std::string* token = model_.id_to_token(id)) {
      tokens.push_back(*token);
    }
  }
  return decoder_.decode(std::move(tokens));
}

std::optional<std::string> Tokenizer::id_to_token(TokenId id) const {
  if (const AddedToken* added = added_.find(id)) return added->content;
  if (const std::string* token = model_.id_to_token(id)) return *token;
  return std::nullopt;
}

std::optional<TokenId> Tokenizer::token_to_id(std::string_view token) const {
  if (auto id = added_.find(token)) return id;
  return model_.token_to_id(token);
}

bool Tokenizer::is_special(TokenId id) const {
  const AddedToken* added = added_.find(id);
  return added && added->special;
}

size_t Tokenizer::id_space() const {
  size_t n = model_.id_space();
  for (const auto& t : added_.tokens()) n = std::max(n, static_cast<size_t>(t.id) + 1);
  return n;
}

}  // namespace tf::tokenizer
