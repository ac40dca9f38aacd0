#include "runtime/token_mask.h"

#include <algorithm>
#include <numeric>

#include "runtime/json_lexer.h"
#include "tokenizer/byte_level.h"

namespace tf {

namespace {

// Bytes a free JSON string takes from between two characters and leaves between two
// characters, without closing: whatever the string holds before, such a token is allowed.
bool plain_string_bytes(const std::string& s) {
  if (s.empty()) return false;
  uint8_t state = json_lexer::kPlain, utf8 = 0;
  bool closed = false;
  for (char c : s)
    if (!json_lexer::string_byte(state, utf8, static_cast<uint8_t>(c), closed) || closed) return false;
  return state == json_lexer::kPlain && utf8 == 0;
}

}  // namespace

TokenMask::TokenMask(const tokenizer::Tokenizer& tokenizer, int32_t vocab_size)
    : bytes_(static_cast<size_t>(vocab_size)),
      added_(static_cast<size_t>(vocab_size), 0),
      plain_(static_cast<size_t>(vocab_size), 0) {
  for (const tokenizer::AddedToken& token : tokenizer.added_tokens()) {
    if (token.id < 0 || token.id >= vocab_size) continue;
    added_[static_cast<size_t>(token.id)] = 1;
    bytes_[static_cast<size_t>(token.id)] = token.content;
  }
  std::vector<int32_t> ordinary, not_plain, added;
  for (int32_t id = 0; id < vocab_size; ++id) {
    std::string& b = bytes_[static_cast<size_t>(id)];
    if (added_[static_cast<size_t>(id)]) {
      added.push_back(id);
      continue;
    }
    const std::optional<std::string> piece = tokenizer.id_to_token(id);
    if (!piece) continue;
    // Byte-level BPE (Qwen3.5, spec §7.1): every character of a piece stands for one byte.
    // A piece outside that alphabet falls back to the decoded text.
    if (std::optional<std::string> raw = tokenizer::byte_level_map().decode(*piece))
      b = std::move(*raw);
    else
      b = tokenizer.decode(std::vector<tokenizer::TokenId>{id});
    if (b.empty()) continue;
    max_length_ = std::max(max_length_, b.size());
    ordinary.push_back(id);
    plain_[static_cast<size_t>(id)] = plain_string_bytes(b);
    if (!plain_[static_cast<size_t>(id)]) not_plain.push_back(id);
  }
  for (int32_t id : added) max_length_ = std::max(max_length_, bytes_[static_cast<size_t>(id)].size());
  all_ = sorted(std::move(ordinary), bytes_);
  not_plain_ = sorted(std::move(not_plain), bytes_);
  added_order_ = sorted(std::move(added), bytes_);
}

TokenMask::Order TokenMask::sorted(std::vector<int32_t> tokens, const std::vector<std::string>& bytes) {
  std::sort(tokens.begin(), tokens.end(), [&](int32_t a, int32_t b) {
    return bytes[static_cast<size_t>(a)] < bytes[static_cast<size_t>(b)];
  });
  Order order;
  order.lcp.resize(tokens.size(), 0);
  for (size_t i = 1; i < tokens.size(); ++i) {
    const std::string& a = bytes[static_cast<size_t>(tokens[i - 1])];
    const std::string& b = bytes[static_cast<size_t>(tokens[i])];
    const auto end = std::min(a.size(), b.size());
    uint32_t n = 0;
    while (n < end && a[n] == b[n]) ++n;
    order.lcp[i] = n;
  }
  order.tokens = std::move(tokens);
  return order;
}

void TokenMask::walk(const Order& order, const JsonConstraint& state, std::vector<uint8_t>& allowed) const {
  // states[k]: the constraint after the first k bytes of the current token; states[0..valid]
  // hold for the current token's prefix.
  std::vector<JsonConstraint> states(max_length_ + 1, state);
  const std::vector<int32_t>& tokens = order.tokens;
  auto bytes_of = [&](size_t i) -> const std::string& { return bytes_[static_cast<size_t>(tokens[i])]; };
  size_t i = 0;
  size_t valid = 0;
  while (i < tokens.size()) {
    valid = std::min<size_t>(valid, order.lcp[i]);
    const std::string& b = bytes_of(i);
    size_t dead = SIZE_MAX;  // the prefix b[0..dead] is refused
    for (size_t k = valid; k < b.size(); ++k) {
      if (!states[k].step(static_cast<uint8_t>(b[k]), states[k + 1])) {
        dead = k;
        break;
      }
      valid = k + 1;
    }
    if (dead == SIZE_MAX) {
      allowed[static_cast<size_t>(tokens[i])] = 1;
      ++i;
      continue;
    }
    // Skip every token that starts with the refused prefix: they follow in byte order, and a
    // binary search finds the first one that does not.
    const std::string_view refused(b.data(), dead + 1);
    const auto next = std::partition_point(tokens.begin() + static_cast<std::ptrdiff_t>(i) + 1, tokens.end(),
                                           [&](int32_t t) {
                                             const std::string& other = bytes_[static_cast<size_t>(t)];
                                             return std::string_view(other).substr(0, dead + 1) == refused;
                                           });
    i = static_cast<size_t>(next - tokens.begin());
    valid = dead;
  }
}

void TokenMask::allowed(const JsonConstraint& state, bool allow_added, std::vector<uint8_t>& allowed) const {
  if (state.in_free_string()) {
    allowed = plain_;
    walk(not_plain_, state, allowed);
  } else {
    allowed.assign(bytes_.size(), 0);
    walk(all_, state, allowed);
  }
  if (allow_added) walk(added_order_, state, allowed);
}

}  // namespace tf
