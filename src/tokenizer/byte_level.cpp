#include "tokenizer/byte_level.h"

#include "tokenizer/utf8.h"

namespace tf::tokenizer {

ByteLevelMap::ByteLevelMap() {
  char_to_byte_.fill(-1);
  int next_extra = 256;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
    const int cp = printable ? b : next_extra++;
    byte_to_utf8_[b] = utf8_encode(static_cast<char32_t>(cp));
    byte_to_utf8_len_[b] = static_cast<uint8_t>(byte_to_utf8_[b].size());  // 1 or 2 (all < U+0800)
    byte_to_utf8_raw_[2 * b] = byte_to_utf8_[b][0];
    byte_to_utf8_raw_[2 * b + 1] = byte_to_utf8_[b].size() > 1 ? byte_to_utf8_[b][1] : 0;
    char_to_byte_[cp] = b;
  }
}

std::string ByteLevelMap::encode(std::string_view bytes) const {
  std::string out(bytes.size() * 2, '\0');
  size_t n = 0;
  for (char c : bytes) {
    const auto b = static_cast<unsigned char>(c);
    out[n] = byte_to_utf8_raw_[2 * b];
    out[n + 1] = byte_to_utf8_raw_[2 * b + 1];
    n += byte_to_utf8_len_[b];
  }
  out.resize(n);
  return out;
}

std::optional<unsigned char> ByteLevelMap::byte_for_char(char32_t c) const {
  if (c >= char_to_byte_.size() || char_to_byte_[c] < 0) return std::nullopt;
  return static_cast<unsigned char>(char_to_byte_[c]);
}

std::optional<std::string> ByteLevelMap::decode(std::string_view token) const {
  std::string out;
  out.reserve(token.size());
  for (size_t i = 0; i < token.size();) {
    const size_t n = utf8_valid_length(token, i);
    if (n == 0) return std::nullopt;
    size_t len = 0;
    const auto b = byte_for_char(utf8_decode_at(token, i, &len));
    if (!b) return std::nullopt;
    out += static_cast<char>(*b);
    i += n;
  }
  return out;
}

const ByteLevelMap& byte_level_map() {
  static const ByteLevelMap map;  // immutable after construction; thread-safe init
  return map;
}

}  // namespace tf::tokenizer
