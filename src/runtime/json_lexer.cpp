#include "runtime/json_lexer.h"

namespace tf::json_lexer {

namespace {

bool digit(uint8_t b) { return b >= '0' && b <= '9'; }
bool hex(uint8_t b) { return digit(b) || (b >= 'a' && b <= 'f') || (b >= 'A' && b <= 'F'); }

}  // namespace

bool string_byte(uint8_t& state, uint8_t& utf8, uint8_t byte, bool& closed) {
  switch (state) {
    case kPlain:
      if (utf8 > 0) {
        if ((byte & 0xC0) != 0x80) return false;
        --utf8;
        return true;
      }
      if (byte == '"') {
        closed = true;
        return true;
      }
      if (byte == '\\') {
        state = kEscape;
        return true;
      }
      if (byte < 0x20) return false;
      if (byte < 0x80) return true;
      if (byte >= 0xC2 && byte <= 0xDF) utf8 = 1;
      else if (byte >= 0xE0 && byte <= 0xEF) utf8 = 2;
      else if (byte >= 0xF0 && byte <= 0xF4) utf8 = 3;
      else return false;
      // Leads whose next byte has a narrower range (RFC 3629 §4: no overlong forms, no
      // surrogates, nothing above U+10FFFF).
      if (byte == 0xE0) state = kUtf8AfterE0;
      if (byte == 0xED) state = kUtf8AfterED;
      if (byte == 0xF0) state = kUtf8AfterF0;
      if (byte == 0xF4) state = kUtf8AfterF4;
      return true;
    case kUtf8AfterE0:
    case kUtf8AfterED:
    case kUtf8AfterF0:
    case kUtf8AfterF4: {
      const uint8_t lo = state == kUtf8AfterE0 ? 0xA0 : state == kUtf8AfterF0 ? 0x90 : 0x80;
      const uint8_t hi = state == kUtf8AfterED ? 0x9F : state == kUtf8AfterF4 ? 0x8F : 0xBF;
      if (byte < lo || byte > hi) return false;
      --utf8;
      state = kPlain;
      return true;
    }
    case kEscape:
      if (byte == 'u') {
        state = kHex1;
        return true;
      }
      if (byte == '"' || byte == '\\' || byte == '/' || byte == 'b' || byte == 'f' ||
          byte == 'n' || byte == 'r' || byte == 't') {
        state = kPlain;
        return true;
      }
      return false;
    case kHex1:
      if (!hex(byte)) return false;
      state = (byte == 'd' || byte == 'D') ? kHex2AfterD : kHex2;
      return true;
    case kHex2AfterD:
      if (!(byte >= '0' && byte <= '7')) return false;
      state = kHex3;
      return true;
    case kHex2:
    case kHex3:
    case kHex4:
      if (!hex(byte)) return false;
      state = state == kHex2 ? kHex3 : state == kHex3 ? kHex4 : kPlain;
      return true;
    default:
      return false;
  }
}

bool number_byte(uint8_t& state, bool integer, uint8_t byte, bool& ended) {
  const bool d = digit(byte);
  const bool dot = byte == '.' && !integer;
  const bool exp = (byte == 'e' || byte == 'E') && !integer;
  switch (state) {
    case kMinus:
      if (!d) return false;
      state = byte == '0' ? kZero : kInt;
      return true;
    case kZero:
    case kInt:
      if (d && state == kInt) return true;
      if (dot) state = kDot;
      else if (exp) state = kExp;
      else ended = true;
      return true;
    case kDot:
      if (!d) return false;
      state = kFrac;
      return true;
    case kFrac:
      if (d) return true;
      if (exp) state = kExp;
      else ended = true;
      return true;
    case kExp:
      if (byte == '+' || byte == '-') state = kExpSign;
      else if (d) state = kExpDigits;
      else return false;
      return true;
    case kExpSign:
      if (!d) return false;
      state = kExpDigits;
      return true;
    case kExpDigits:
      if (!d) ended = true;
      return true;
    default:
      return false;
  }
}

}  // namespace tf::json_lexer
