// The language check of a generated answer (include/tightfit/eval.h, docs/eval.md "Language
// check"): which Unicode scripts its letters belong to, whether it holds garbage, whether it
// ends in a loop. Script ranges are the Unicode blocks (https://www.unicode.org/charts/); this is
// a screen for the failures low-bit models show (kana or Han in Korean, replacement characters,
// a phrase repeated to the token limit), not a language identifier.
#include <algorithm>
#include <string>
#include <vector>

#include "tightfit/eval.h"

namespace tightfit::eval {

namespace {

enum class Script { none, latin, hangul, kana, han, cyrillic, greek, arabic, hebrew, thai, devanagari, other_letter };

const char* name(Script s) {
  switch (s) {
    case Script::latin: return "latin";
    case Script::hangul: return "hangul";
    case Script::kana: return "kana";
    case Script::han: return "han";
    case Script::cyrillic: return "cyrillic";
    case Script::greek: return "greek";
    case Script::arabic: return "arabic";
    case Script::hebrew: return "hebrew";
    case Script::thai: return "thai";
    case Script::devanagari: return "devanagari";
    default: return "other";
  }
}

Script script_of(char32_t c) {
  auto in = [c](char32_t lo, char32_t hi) { return c >= lo && c <= hi; };
  if (in('A', 'Z') || in('a', 'z') || in(0xC0, 0x24F) || in(0x1E00, 0x1EFF)) return c == 0xD7 || c == 0xF7 ? Script::none : Script::latin;
  if (in(0xAC00, 0xD7A3) || in(0x1100, 0x11FF) || in(0x3130, 0x318F) || in(0xA960, 0xA97F) || in(0xD7B0, 0xD7FF))
    return Script::hangul;
  if (in(0x3040, 0x30FF) || in(0x31F0, 0x31FF) || in(0xFF66, 0xFF9D)) return Script::kana;
  if (in(0x4E00, 0x9FFF) || in(0x3400, 0x4DBF) || in(0xF900, 0xFAFF) || in(0x20000, 0x2FFFF)) return Script::han;
  if (in(0x400, 0x52F)) return Script::cyrillic;
  if (in(0x370, 0x3FF)) return Script::greek;
  if (in(0x600, 0x6FF) || in(0x750, 0x77F) || in(0xFB50, 0xFDFF) || in(0xFE70, 0xFEFF)) return Script::arabic;
  if (in(0x590, 0x5FF)) return Script::hebrew;
  if (in(0xE00, 0xE7F)) return Script::thai;
  if (in(0x900, 0x97F)) return Script::devanagari;
  if (in(0x250, 0x2AF) || in(0x530, 0x58F) || in(0x10A0, 0x10FF) || in(0x1200, 0x137F)) return Script::other_letter;
  return Script::none;
}

// Decodes UTF-8; invalid sequences become U+FFFD (they are garbage either way).
std::vector<char32_t> code_points(const std::string& s) {
  std::vector<char32_t> out;
  for (size_t i = 0; i < s.size();) {
    const unsigned char b = s[i];
    const int len = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 0;
    char32_t c = len == 1 ? b : len == 2 ? b & 0x1F : len == 3 ? b & 0x0F : b & 0x07;
    bool ok = len > 0 && i + len <= s.size();
    for (int k = 1; ok && k < len; ++k) {
      const unsigned char cont = s[i + k];
      ok = (cont & 0xC0) == 0x80;
      c = (c << 6) | (cont & 0x3F);
    }
    out.push_back(ok ? c : 0xFFFD);
    i += ok ? len : 1;
  }
  return out;
}

bool is_space(char32_t c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == 0x3000 || c == 0xA0; }
bool is_digit(char32_t c) { return (c >= '0' && c <= '9') || (c >= 0xFF10 && c <= 0xFF19); }

// Markdown's own punctuation (rules, tables, emphasis, code fences) is not garbage however long.
bool is_markdown(char32_t c) {
  for (char m : std::string("-|:=*#_`>~+")) if (c == static_cast<char32_t>(m)) return true;
  return false;
}

// A punctuation run longer than this is garbage (a sentence ends with at most a few marks).
constexpr int kSymbolRun = 10;

// The end of the text is one phrase of `period` code points repeated: the longest such tail
// covers at least 3 periods and 30 code points (a phrase said twice, or "ㅋㅋㅋ", is not a loop).
bool ends_in_loop(const std::vector<char32_t>& text) {
  size_t n = text.size();
  while (n > 0 && is_space(text[n - 1])) --n;
  for (size_t period = 1; period <= n / 3; ++period) {
    size_t tail = 0;  // positions i (from the end) with text[i] == text[i - period]
    while (tail + period < n && text[n - 1 - tail] == text[n - 1 - tail - period]) ++tail;
    const size_t covered = tail + period;
    if (covered >= 3 * period && covered >= 30) return true;
  }
  return false;
}

}  // namespace

LangVerdict classify_text(const std::string& text, const std::string& language) {
  if (language != "ko" && language != "en")
    throw InvalidRequest("unknown language \"" + language + "\": ko or en", "expect");
  const Script expected = language == "ko" ? Script::hangul : Script::latin;
  const std::vector<char32_t> cps = code_points(text);
  LangVerdict v;
  int64_t letters = 0, in_expected = 0;
  std::vector<Script> foreign;
  int run = 0;
  for (const char32_t c : cps) {
    const Script s = script_of(c);
    if (s != Script::none) {
      ++letters;
      if (s == expected) ++in_expected;
      // Latin is at home in Korean answers (K-pop, IT, units); everything else is foreign.
      const bool allowed = s == expected || (language == "ko" && s == Script::latin);
      if (!allowed && std::find(foreign.begin(), foreign.end(), s) == foreign.end()) foreign.push_back(s);
    }
    if (!v.garbage) {
      if (c == 0xFFFD) v.garbage = true, v.garbage_reason = "replacement character U+FFFD (invalid UTF-8)";
      else if ((c < 0x20 && c != '\n' && c != '\t' && c != '\r') || c == 0x7F)
        v.garbage = true, v.garbage_reason = "control character";
      else if (c >= 0xE000 && c <= 0xF8FF) v.garbage = true, v.garbage_reason = "private-use character";
    }
    const bool symbol = s == Script::none && !is_space(c) && !is_digit(c) && !is_markdown(c);
    run = symbol ? run + 1 : 0;
    if (run > kSymbolRun && !v.garbage)
      v.garbage = true, v.garbage_reason = "a run of more than " + std::to_string(kSymbolRun) + " symbols";
  }
  v.expected_share = letters ? double(in_expected) / letters : 0;
  v.foreign = !foreign.empty();
  for (Script s : foreign) v.foreign_scripts += (v.foreign_scripts.empty() ? "" : ", ") + std::string(name(s));
  v.loop = ends_in_loop(cps);
  return v;
}

}  // namespace tightfit::eval
