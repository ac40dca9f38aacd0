// JSON strings and numbers byte by byte (RFC 8259 §6 and §7,
// https://www.rfc-editor.org/rfc/rfc8259): the lexical half of the JSON constraint
// (runtime/json_constraint.h), whose states are these small integers so that a copy is cheap.
#pragma once

#include <cstdint>

namespace tf::json_lexer {

// String states: plain content, after '\', the four hex digits of \uXXXX. After a 'D' first
// digit the second must be 0-7: escaped surrogates are refused so that every strict parser
// reads the text (characters beyond the BMP come as raw UTF-8).
constexpr uint8_t kPlain = 0, kEscape = 1, kHex1 = 2, kHex2 = 3, kHex2AfterD = 4, kHex3 = 5, kHex4 = 6;
// The byte after the UTF-8 leads E0, ED, F0 and F4, whose range is narrower than 80-BF.
constexpr uint8_t kUtf8AfterE0 = 7, kUtf8AfterED = 8, kUtf8AfterF0 = 9, kUtf8AfterF4 = 10;

// One byte inside a string (after its opening quote). `utf8`: continuation bytes still expected
// (the content must be whole UTF-8, no control characters). Sets `closed` at the closing quote.
// False when the byte cannot come here.
bool string_byte(uint8_t& state, uint8_t& utf8, uint8_t byte, bool& closed);

// Number states; kZero, kInt, kFrac and kExpDigits accept.
constexpr uint8_t kMinus = 1, kZero = 2, kInt = 3, kDot = 4, kFrac = 5, kExp = 6, kExpSign = 7,
                  kExpDigits = 8;
inline bool number_accepting(uint8_t state) {
  return state == kZero || state == kInt || state == kFrac || state == kExpDigits;
}
// The state after a number's first byte ('-' or a digit).
inline uint8_t number_start(uint8_t byte) { return byte == '-' ? kMinus : byte == '0' ? kZero : kInt; }
// One more byte of a number (`integer`: no fraction or exponent). A byte that cannot continue
// an accepting number ends it: `ended` is set and the byte is not consumed. False when the byte
// cannot come here.
bool number_byte(uint8_t& state, bool integer, uint8_t byte, bool& ended);

}  // namespace tf::json_lexer
