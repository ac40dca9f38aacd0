// GPT-2's reversible byte <-> printable-character map used by byte-level BPE (spec §7.1):
// printable Latin-1 bytes map to themselves, the other 68 bytes to U+0100.. in byte order,
// so every byte string becomes a string of visible characters ("Ġ" is the space byte).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tf::tokenizer {

class ByteLevelMap {
 public:
  ByteLevelMap();

  // UTF-8 of the character standing for byte b.
  const std::string& char_for_byte(unsigned char b) const { return byte_to_utf8_[b]; }
  // Every byte of `bytes` replaced by its character.
  std::string encode(std::string_view bytes) const;
  // The byte a character stands for, if it is one of the 256 alphabet characters.
  std::optional<unsigned char> byte_for_char(char32_t c) const;
  // Maps every character of a token back to its byte; nullopt if some character is not in
  // the alphabet (Hugging Face then keeps the token's own UTF-8 bytes).
  std::optional<std::string> decode(std::string_view token) const;

 private:
  std::array<std::string, 256> byte_to_utf8_;
  std::array<char, 512> byte_to_utf8_raw_;  // 2 bytes per byte (second unused for ASCII)
  std::array<uint8_t, 256> byte_to_utf8_len_;
  std::array<int, 324> char_to_byte_;  // indexed by code point (all are < 0x144), -1 = none
};

// One shared immutable instance (the map is a constant of the format).
const ByteLevelMap& byte_level_map();

}  // namespace tf::tokenizer
