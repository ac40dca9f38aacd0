// The vocabulary as bytes, prepared once per engine for constrained sampling: which tokens may
// come next under a JsonConstraint. Each token's bytes are its byte-level BPE piece mapped back
// to raw bytes (not the UTF-8-repaired text: a token may hold half a character); added tokens
// (<think>, <tool_call>, <|im_end|>, ...) are kept apart and allowed only where a caller asks.
//
// Finding the allowed tokens walks the constraint over the tokens in byte order: a token shares
// its first lcp bytes with the one before, so the states after those bytes are reused and a
// shared prefix is checked once (a trie walk without building the trie); when a prefix is
// refused, the tokens that start with it are jumped over. Inside a free string, where nearly
// every token is allowed, the tokens a string takes whatever came before (whole characters, no
// quote) are allowed at once and only the rest are walked.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/json_constraint.h"
#include "tokenizer/tokenizer.h"

namespace tf {

class TokenMask {
 public:
  // vocab_size: the ids the sampler may pick (the tokenizer's, not the padded logits row).
  TokenMask(const tokenizer::Tokenizer& tokenizer, int32_t vocab_size);

  int32_t vocab_size() const { return static_cast<int32_t>(bytes_.size()); }
  const std::string& bytes(int32_t token) const { return bytes_[static_cast<size_t>(token)]; }
  bool is_added(int32_t token) const { return added_[static_cast<size_t>(token)] != 0; }

  // allowed[t] = 1 when token t's bytes extend the constraint's text (0 otherwise), for every
  // token of the vocabulary; added tokens only when `allow_added` (their content as bytes).
  // End-of-text tokens are the caller's business (JsonConstraint::accepting).
  void allowed(const JsonConstraint& state, bool allow_added, std::vector<uint8_t>& allowed) const;

 private:
  struct Order {
    std::vector<int32_t> tokens;  // sorted by bytes
    std::vector<uint32_t> lcp;    // lcp[i]: bytes tokens[i] shares with tokens[i - 1]
  };
  static Order sorted(std::vector<int32_t> tokens, const std::vector<std::string>& bytes);
  void walk(const Order& order, const JsonConstraint& state, std::vector<uint8_t>& allowed) const;

  std::vector<std::string> bytes_;
  std::vector<uint8_t> added_;
  std::vector<uint8_t> plain_;    // taken by a free string between characters, not closing it
  Order all_;                     // every non-added token with bytes
  Order not_plain_;               // of which the not plain ones
  Order added_order_;             // the added tokens
  size_t max_length_ = 0;
};

}  // namespace tf
