// Streaming reader for tokenizer.json. The vocabulary and merge list are most of the file
// (Qwen3.5: 248k tokens, 248k merges, 10 MB); building a JSON DOM for them and copying it out
// again doubles load time, so they are read by a SAX handler straight into flat vectors and
// only the small rest of the file becomes a DOM.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace tf::tokenizer {

struct BpeTables {
  std::vector<std::pair<std::string, int64_t>> vocab;       // token -> id, file order
  std::vector<std::pair<std::string, std::string>> merges;  // rank order
};

struct TokenizerJson {
  nlohmann::json rest;  // everything except model.vocab and model.merges
  BpeTables tables;
  bool has_vocab = false;
  bool has_merges = false;
};

// Throws std::runtime_error naming `source` and what is malformed.
TokenizerJson read_tokenizer_json(std::string_view text, const std::string& source);

}  // namespace tf::tokenizer
