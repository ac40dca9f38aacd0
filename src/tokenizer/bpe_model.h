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

#include <nlohmann/json.hpp>

namespace tf::tokenizer {

using TokenId = int32_t;

class BpeModel {
 public:
  // `spec` is the "model" object; its "type" must be "BPE". Throws naming the bad field,
  // merge line or token.
  static BpeModel from_json(const nlohmann::json& spec);

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
  struct Merge {
    int32_t rank;
    TokenId result;
  };
  static uint64_t pair_key(TokenId a, TokenId b) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
  }
  const Merge* find_merge(TokenId a, TokenId b) const {
    auto it = merges_.find(pair_key(a, b));
    return it == merges_.end() ? nullptr : &it->second;
  }
  void initial_symbols(std::string_view piece, std::vector<TokenId>& ids, std::vector<int32_t>& lengths) const;
  void merge_symbols(std::vector<TokenId>& ids, std::vector<int32_t>& lengths) const;

  std::unordered_map<std::string, TokenId> token_to_id_;
  std::vector<std::string> id_to_token_;
  std::vector<bool> id_defined_;
  std::unordered_map<uint64_t, Merge> merges_;
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
  mutable std::unordered_map<std::string, std::vector<TokenId>> cache_;
};

}  // namespace tf::tokenizer
