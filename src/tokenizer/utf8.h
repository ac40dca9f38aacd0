// UTF-8 helpers shared by the tokenizer and the template engine: decoding one code point,
// encoding, and the lossy conversion Rust's String::from_utf8_lossy performs (each maximal
// invalid subpart becomes one U+FFFD), which is what Hugging Face decoders do.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tf::tokenizer {

inline constexpr char32_t kReplacementChar = 0xFFFD;

// Length of the valid UTF-8 sequence starting at s[i], or 0 if the bytes there are not a
// complete well-formed sequence (bad lead byte, bad continuation, overlong, surrogate, > U+10FFFF,
// or truncated by the end of s).
size_t utf8_valid_length(std::string_view s, size_t i);

// Decodes the well-formed sequence at s[i] (call only where utf8_valid_length(s, i) > 0).
char32_t utf8_decode_at(std::string_view s, size_t i, size_t* length);

void utf8_append(std::string& out, char32_t cp);
std::string utf8_encode(char32_t cp);

// Length of the maximal subpart of an ill-formed sequence starting at s[i] (Unicode §3.9,
// "U+FFFD substitution of maximal subparts"): at least 1.
size_t utf8_invalid_length(std::string_view s, size_t i);

bool utf8_is_valid(std::string_view s);

// Replaces every maximal invalid subpart with U+FFFD.
std::string utf8_lossy(std::string_view bytes);

// Number of bytes at the end of s that form an incomplete but so far valid sequence (a lead byte
// with fewer continuation bytes than it needs): 0..3. Streaming output holds these back.
size_t utf8_incomplete_tail(std::string_view s);

// Number of code points (s must be valid UTF-8).
size_t utf8_length(std::string_view s);

}  // namespace tf::tokenizer
