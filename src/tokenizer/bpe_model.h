// The BPE model of tokenizer.json: a vocabulary and merge rules ranked by their order in the
// file. A piece is split into characters (bytes in the GPT-2 alphabet for byte-level BPE),
// then the adjacent pair with the lowest merge rank is merged until no pair has a rule, as
// Hugging Face does: a priority queue over a linked list of symbols, O(n log n) per piece.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "tokenizer/merge_table.h"

namespace tf::tokenizer {

struct BpeTables;  // tokenizer_json_reader.h

using TokenId = int32_t;

// Hash and equality that accept std::string_view, so lookups need no temporary std::string.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

class BpeModel {
 public:
  // `spec` is the "model" object; its "type" must be "BPE". Throws naming the bad field,
  // merge line or token. `streamed` holds the vocabulary and merges when the reader took them
  // out of `spec` (see tokenizer_json_reader.h).
  static BpeModel from_json(const nlohmann::json& spec, BpeTables* streamed = nullptr);

  BpeModel() = default;
  BpeModel(BpeModel&& other) noexcept;
  BpeModel& operator=(BpeModel&& other) noexcept;

  // Appends the ids of one pre-tokenized piece to `out`.
  void encode_piece(std::string_view piece, std::vector<TokenId>& out) const;

  std::optional<TokenId> token_to_id(std::string_view token) const;
  // The vocabulary string of `id`, or nullptr for ids the vocabulary does not define.
  const std::string* id_to_token(TokenId id) const;
  // One past the largest id in the vocabulary.
  size_t id_space() const { return id_to_token_.size(); }
  size_t vocab_size() const { return token_to_id_.size(); }
  size_t merge_count() const { return merges_.size(); }

 private:
  using Merge = MergeTable::Merge;
  const Merge* find_merge(TokenId a, TokenId b) const { return merges_.find(a, b); }
  void initial_symbols(std::string_view piece, std::vector<TokenId>& ids, std::vector<int32_t>& lengths) const;
  void merge_symbols(std::vector<TokenId>& ids, std::vector<int32_t>& lengths) const;

  std::unordered_map<std::string, TokenId, StringHash, std::equal_to<>> token_to_id_;
  std::vector<const std::string*> id_to_token_;  // into token_to_id_'s keys (node-stable); null = hole
  MergeTable merges_;
  // Ids of single-character tokens by code point, for characters below U+0800 (the whole
  // byte-level alphabet): spares a string hash per character. -1 = look the string up.
  std::vector<TokenId> small_char_ids_;
  std::optional<TokenId> unk_id_;
  std::string continuing_subword_prefix_;
  std::string end_of_word_suffix_;
  bool byte_fallback_ = false;
  bool fuse_unk_ = false;
  bool ignore_merges_ = false;
  TokenId byte_tokens_[256];  // ids of "<0xXX>" for byte fallback, -1 when absent

  // Pieces repeat a lot in real text; their encodings are cached (bounded, cleared when full).
  static constexpr size_t kCacheCapacity = 1 << 16;
  static constexpr size_t kCacheMaxPieceBytes = 256;
  mutable std::shared_mutex cache_mutex_;
  mutable std::unordered_map<std::string, std::vector<TokenId>, StringHash, std::equal_to<>> cache_;
};

}  // namespace tf::tokenizer
