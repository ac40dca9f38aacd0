#include "tokenizer/jinja_strings.h"

#include <algorithm>
#include <stdexcept>

#include <unicode/locid.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>

#include "tokenizer/jinja_limits.h"
#include "tokenizer/utf8.h"

namespace tf::jinja {

std::u32string to_code_points(std::string_view s) {
  std::u32string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    size_t n = tokenizer::utf8_valid_length(s, i);
    if (n == 0) {
      out += tokenizer::kReplacementChar;
      i += tokenizer::utf8_invalid_length(s, i);
      continue;
    }
    out += tokenizer::utf8_decode_at(s, i, &n);
    i += n;
  }
  return out;
}

std::string from_code_points(std::u32string_view cps) {
  std::string out;
  out.reserve(cps.size());
  for (char32_t c : cps) tokenizer::utf8_append(out, c);
  return out;
}

bool py_isspace(char32_t c) {
  if (c < 0x80) return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20);
  return c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 ||
         c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

std::string py_strip(std::string_view s, const std::optional<std::string>& chars, bool left, bool right) {
  const std::u32string cps = to_code_points(s);
  const std::u32string set = chars ? to_code_points(*chars) : std::u32string();
  auto strip_me = [&](char32_t c) { return chars ? set.find(c) != std::u32string::npos : py_isspace(c); };
  size_t b = 0, e = cps.size();
  if (left) while (b < e && strip_me(cps[b])) ++b;
  if (right) while (e > b && strip_me(cps[e - 1])) --e;
  return from_code_points(std::u32string_view(cps).substr(b, e - b));
}

std::vector<std::string> py_split(std::string_view s, const std::optional<std::string>& sep, int64_t maxsplit) {
  std::vector<std::string> out;
  if (sep) {
    if (sep->empty()) throw std::runtime_error("empty separator");
    size_t pos = 0;
    while (maxsplit < 0 || static_cast<int64_t>(out.size()) < maxsplit) {
      const size_t hit = s.find(*sep, pos);
      if (hit == std::string_view::npos) break;
      out.emplace_back(s.substr(pos, hit - pos));
      pos = hit + sep->size();
    }
    out.emplace_back(s.substr(pos));
    return out;
  }
  const std::u32string cps = to_code_points(s);
  size_t i = 0;
  while (true) {
    while (i < cps.size() && py_isspace(cps[i])) ++i;
    if (i >= cps.size()) break;
    if (maxsplit >= 0 && static_cast<int64_t>(out.size()) >= maxsplit) {
      size_t e = cps.size();
      while (e > i && py_isspace(cps[e - 1])) --e;
      out.push_back(from_code_points(std::u32string_view(cps).substr(i, e - i)));
      break;
    }
    size_t j = i;
    while (j < cps.size() && !py_isspace(cps[j])) ++j;
    out.push_back(from_code_points(std::u32string_view(cps).substr(i, j - i)));
    i = j;
  }
  return out;
}

std::vector<std::string> py_rsplit(std::string_view s, const std::optional<std::string>& sep, int64_t maxsplit) {
  if (maxsplit < 0) return py_split(s, sep, maxsplit);
  std::vector<std::string> out;
  if (sep) {
    if (sep->empty()) throw std::runtime_error("empty separator");
    size_t end = s.size();
    while (static_cast<int64_t>(out.size()) < maxsplit) {
      if (end < sep->size()) break;
      const size_t hit = s.rfind(*sep, end - sep->size());
      if (hit == std::string_view::npos) break;
      out.emplace_back(s.substr(hit + sep->size(), end - hit - sep->size()));
      end = hit;
    }
    out.emplace_back(s.substr(0, end));
    std::reverse(out.begin(), out.end());
    return out;
  }
  const std::u32string cps = to_code_points(s);
  size_t e = cps.size();
  while (true) {
    while (e > 0 && py_isspace(cps[e - 1])) --e;
    if (e == 0) break;
    if (static_cast<int64_t>(out.size()) >= maxsplit) {
      size_t b = 0;
      while (b < e && py_isspace(cps[b])) ++b;
      out.push_back(from_code_points(std::u32string_view(cps).substr(b, e - b)));
      break;
    }
    size_t b = e;
    while (b > 0 && !py_isspace(cps[b - 1])) --b;
    out.push_back(from_code_points(std::u32string_view(cps).substr(b, e - b)));
    e = b;
  }
  std::reverse(out.begin(), out.end());
  return out;
}

std::vector<std::string> py_splitlines(std::string_view s, bool keepends) {
  const std::u32string cps = to_code_points(s);
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t i = 0; i < cps.size(); ++i) {
    const char32_t c = cps[i];
    const bool is_break = c == '\n' || c == '\r' || c == 0x0B || c == 0x0C || c == 0x1C || c == 0x1D ||
                          c == 0x1E || c == 0x85 || c == 0x2028 || c == 0x2029;
    if (!is_break) continue;
    size_t end = i + 1;
    if (c == '\r' && i + 1 < cps.size() && cps[i + 1] == '\n') end = i + 2;
    out.push_back(from_code_points(std::u32string_view(cps).substr(start, (keepends ? end : i) - start)));
    start = end;
    i = end - 1;
  }
  if (start < cps.size()) out.push_back(from_code_points(std::u32string_view(cps).substr(start)));
  return out;
}

std::string py_replace(std::string_view s, std::string_view old, std::string_view rep, int64_t count) {
  std::string out;
  if (old.empty()) {  // Python inserts the replacement around every character
    const std::u32string cps = to_code_points(s);
    int64_t done = 0;
    for (size_t i = 0; i <= cps.size(); ++i) {
      if (count < 0 || done < count) {
        check_string_size(out.size() + rep.size(), "replace");
        out += rep;
        ++done;
      }
      if (i < cps.size()) tokenizer::utf8_append(out, cps[i]);
    }
    return out;
  }
  size_t pos = 0;
  int64_t done = 0;
  while (count < 0 || done < count) {
    const size_t hit = s.find(old, pos);
    if (hit == std::string_view::npos) break;
    out.append(s.substr(pos, hit - pos));
    check_string_size(out.size() + rep.size(), "replace");
    out.append(rep);
    pos = hit + old.size();
    ++done;
  }
  out.append(s.substr(pos));
  return out;
}

namespace {

icu::UnicodeString to_icu(std::string_view s) {
  return icu::UnicodeString::fromUTF8(icu::StringPiece(s.data(), static_cast<int32_t>(s.size())));
}

std::string from_icu(const icu::UnicodeString& u) {
  std::string out;
  u.toUTF8String(out);
  return out;
}

}  // namespace

std::string py_upper(std::string_view s) {
  icu::UnicodeString u = to_icu(s);
  u.toUpper(icu::Locale::getRoot());
  return from_icu(u);
}

std::string py_lower(std::string_view s) {
  icu::UnicodeString u = to_icu(s);
  u.toLower(icu::Locale::getRoot());
  return from_icu(u);
}

std::string py_capitalize(std::string_view s) {
  const std::u32string cps = to_code_points(s);
  if (cps.empty()) return "";
  return py_upper(from_code_points(cps.substr(0, 1))) + py_lower(from_code_points(cps.substr(1)));
}

std::string py_title(std::string_view s) {
  // Python: a cased character after an uncased one starts a word (upper), others go lower.
  std::string out;
  bool previous_cased = false;
  for (char32_t c : to_code_points(s)) {
    const std::string ch = from_code_points(std::u32string(1, c));
    const bool cased = u_hasBinaryProperty(static_cast<UChar32>(c), UCHAR_CASED);
    out += previous_cased ? py_lower(ch) : py_upper(ch);
    previous_cased = cased;
  }
  return out;
}

int64_t py_find(std::string_view s, std::string_view sub) {
  const size_t hit = s.find(sub);
  return hit == std::string_view::npos ? -1 : static_cast<int64_t>(tokenizer::utf8_length(s.substr(0, hit)));
}

int64_t py_rfind(std::string_view s, std::string_view sub) {
  const size_t hit = s.rfind(sub);
  return hit == std::string_view::npos ? -1 : static_cast<int64_t>(tokenizer::utf8_length(s.substr(0, hit)));
}

int64_t py_count(std::string_view s, std::string_view sub) {
  if (sub.empty()) return static_cast<int64_t>(tokenizer::utf8_length(s)) + 1;
  int64_t n = 0;
  for (size_t pos = s.find(sub); pos != std::string_view::npos; pos = s.find(sub, pos + sub.size())) ++n;
  return n;
}

bool py_is(std::string_view s, const std::string& which) {
  const std::u32string cps = to_code_points(s);
  if (cps.empty()) return false;
  if (which == "isupper" || which == "islower") {
    bool any_cased = false;
    for (char32_t c : cps) {
      const auto uc = static_cast<UChar32>(c);
      if (u_isUUppercase(uc) || u_isULowercase(uc) || u_istitle(uc)) {
        any_cased = true;
        if (which == "isupper" ? (u_isULowercase(uc) || u_istitle(uc)) : (u_isUUppercase(uc) || u_istitle(uc))) return false;
      }
    }
    return any_cased;
  }
  for (char32_t c : cps) {
    const auto uc = static_cast<UChar32>(c);
    bool ok;
    if (which == "isdigit") ok = u_charType(uc) == U_DECIMAL_DIGIT_NUMBER || u_getIntPropertyValue(uc, UCHAR_NUMERIC_TYPE) == U_NT_DIGIT;
    else if (which == "isalpha") ok = u_isalpha(uc);
    else if (which == "isalnum") ok = u_isalpha(uc) || u_getIntPropertyValue(uc, UCHAR_NUMERIC_TYPE) != U_NT_NONE;
    else if (which == "isspace") ok = py_isspace(c);
    else ok = false;
    if (!ok) return false;
  }
  return true;
}

}  // namespace tf::jinja
