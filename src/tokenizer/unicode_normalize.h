// Unicode normalization forms and case mapping, from ICU (libicu-dev). ICU is used rather
// than tables generated into the source tree because it is the reference implementation of
// UAX #15, ships with every Linux distribution and macOS, and is updated with Unicode itself.
#pragma once

#include <string>
#include <string_view>

namespace tf::tokenizer {

enum class NormalForm { kNFC, kNFD, kNFKC, kNFKD };

// `text` must be valid UTF-8. ASCII-only text is returned unchanged without calling ICU.
std::string unicode_normalize(std::string_view text, NormalForm form);

// Full Unicode lowercase mapping (locale-independent), as Rust's str::to_lowercase.
std::string unicode_lowercase(std::string_view text);

// Removes combining marks (general category Mn), for the StripAccents normalizer.
std::string unicode_strip_marks(std::string_view text);

// Unicode White_Space property, as Rust's char::is_whitespace.
bool unicode_is_whitespace(char32_t c);
// Rust's char::is_alphanumeric (Alphabetic or Numeric), used for single_word matching.
bool unicode_is_alphanumeric(char32_t c);

}  // namespace tf::tokenizer
