#include "tokenizer/jinja_lexer.h"

#include <algorithm>
#include <cstring>
#include <tuple>

#include "tokenizer/jinja_error.h"
#include "tokenizer/utf8.h"

namespace tf::jinja {

std::string located_message(const std::string& name, int line, int column, const std::string& message) {
  std::string where = name.empty() ? "template" : name;
  if (line > 0) where += " line " + std::to_string(line);
  if (column > 0) where += ", column " + std::to_string(column);
  return where + ": " + message;
}

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

class Lexer {
 public:
  Lexer(std::string source, const std::string& name, const LexerOptions& options)
      : src_(std::move(source)), name_(name), options_(options) {
    line_starts_.push_back(0);
    for (size_t i = 0; i < src_.size(); ++i)
      if (src_[i] == '\n') line_starts_.push_back(i + 1);
  }

  std::vector<Token> run() {
    bool line_starting = true;
    while (pos_ < src_.size()) {
      const size_t tag = find_tag_start(pos_);
      std::string text = src_.substr(pos_, tag - pos_);
      if (tag == src_.size()) {
        push_data(std::move(text), pos_);
        break;
      }
      const char kind = src_[tag + 1];
      const char control = tag + 2 < src_.size() && (src_[tag + 2] == '-' || src_[tag + 2] == '+') ? src_[tag + 2] : 0;
      if (control == '-') {
        size_t end = text.size();
        while (end > 0 && is_space(text[end - 1])) --end;
        text.resize(end);
      } else if (control != '+' && options_.lstrip_blocks && kind != '{') {
        // Remove the indentation before a block or comment tag that starts its line.
        const size_t line_pos = text.rfind('\n') == std::string::npos ? 0 : text.rfind('\n') + 1;
        if ((line_pos > 0 || line_starting) &&
            std::all_of(text.begin() + line_pos, text.end(), [](char c) { return c != '\n' && is_space(c); }))
          text.resize(line_pos);
      }
      push_data(std::move(text), pos_);
      pos_ = tag + 2 + (control ? 1 : 0);
      if (kind == '#') {
        line_starting = skip_comment(tag);
      } else if (kind == '%' && try_raw(tag)) {
        line_starting = last_consumed_newline_;
      } else {
        line_starting = lex_tag(kind, tag);
      }
    }
    tokens_.push_back(make(Token::Type::kEnd, "", src_.size()));
    return std::move(tokens_);
  }

 private:
  // Tokens are made left to right, so each call continues from the previous position: counting
  // from the line's start every time was quadratic on long lines (a one-line template of 2000
  // nested ifs took 38 s to lex).
  std::pair<int, int> line_col(size_t offset) const {
    if (offset < cursor_.offset) {  // an error reported at an earlier token: count afresh
      const auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset) - 1;
      cursor_ = {*it, static_cast<int>(it - line_starts_.begin()) + 1, 1};
    }
    for (; cursor_.offset < offset && cursor_.offset < src_.size(); ++cursor_.offset) {
      const auto b = static_cast<unsigned char>(src_[cursor_.offset]);
      if (b == '\n') {
        ++cursor_.line;
        cursor_.column = 1;
      } else if ((b & 0xC0) != 0x80) {  // not a UTF-8 continuation byte: a new code point
        ++cursor_.column;
      }
    }
    return {cursor_.line, cursor_.column};
  }

  [[noreturn]] void fail(size_t offset, const std::string& message) const {
    const auto [line, col] = line_col(offset);
    throw TemplateError(TemplateError::Kind::kSyntax, located_message(name_, line, col, message), line, col);
  }

  Token make(Token::Type type, std::string text, size_t offset) const {
    Token t{type, std::move(text)};
    std::tie(t.line, t.column) = line_col(offset);
    return t;
  }

  void push_data(std::string text, size_t offset) {
    if (!text.empty()) tokens_.push_back(make(Token::Type::kData, std::move(text), offset));
  }

  size_t find_tag_start(size_t from) const {
    for (size_t i = src_.find('{', from); i != std::string::npos; i = src_.find('{', i + 1)) {
      if (i + 1 < src_.size() && (src_[i + 1] == '{' || src_[i + 1] == '%' || src_[i + 1] == '#')) return i;
    }
    return src_.size();
  }

  // After a tag's closing delimiter: `-` strips all following whitespace; otherwise a block
  // tag (not `+`) drops one newline when trim_blocks is on. Returns whether a newline ended it.
  bool after_tag_end(char control, bool is_block) {
    size_t start = pos_;
    if (control == '-') {
      while (pos_ < src_.size() && is_space(src_[pos_])) ++pos_;
    } else if (control != '+' && is_block && options_.trim_blocks && pos_ < src_.size() && src_[pos_] == '\n') {
      ++pos_;
    }
    return pos_ > start && src_[pos_ - 1] == '\n';
  }

  bool skip_comment(size_t tag) {
    const size_t end = src_.find("#}", pos_);
    if (end == std::string::npos) fail(tag, "missing end of comment tag '#}'");
    const char control = end > pos_ && (src_[end - 1] == '-' || src_[end - 1] == '+') ? src_[end - 1] : 0;
    pos_ = end + 2;
    return after_tag_end(control, true);
  }

  // `{% raw %}...{% endraw %}`: everything inside is data.
  bool try_raw(size_t tag) {
    size_t p = pos_;
    while (p < src_.size() && is_space(src_[p])) ++p;
    if (src_.compare(p, 3, "raw") != 0) return false;
    p += 3;
    while (p < src_.size() && is_space(src_[p])) ++p;
    char open_control = 0;
    if (p < src_.size() && (src_[p] == '-' || src_[p] == '+')) open_control = src_[p++];
    if (src_.compare(p, 2, "%}") != 0) return false;
    p += 2;
    if (open_control == '-') while (p < src_.size() && is_space(src_[p])) ++p;
    for (size_t q = src_.find("{%", p); q != std::string::npos; q = src_.find("{%", q + 2)) {
      size_t r = q + 2;
      char close_open = 0;
      if (r < src_.size() && (src_[r] == '-' || src_[r] == '+')) close_open = src_[r++];
      while (r < src_.size() && is_space(src_[r])) ++r;
      if (src_.compare(r, 6, "endraw") != 0) continue;
      r += 6;
      while (r < src_.size() && is_space(src_[r])) ++r;
      char close_control = 0;
      if (r < src_.size() && (src_[r] == '-' || src_[r] == '+')) close_control = src_[r++];
      if (src_.compare(r, 2, "%}") != 0) continue;
      std::string body = src_.substr(p, q - p);
      if (close_open == '-') {
        while (!body.empty() && is_space(body.back())) body.pop_back();
      }
      push_data(std::move(body), p);
      pos_ = r + 2;
      last_consumed_newline_ = after_tag_end(close_control, true);
      return true;
    }
    fail(tag, "missing '{% endraw %}' for this '{% raw %}'");
  }

  bool lex_tag(char kind, size_t tag) {
    const bool block = kind == '%';
    tokens_.push_back(make(block ? Token::Type::kBlockBegin : Token::Type::kVarBegin, "", tag));
    std::string open;  // brackets open inside the tag: a '}' there closes a literal, not the tag
    while (true) {
      while (pos_ < src_.size() && is_space(src_[pos_])) ++pos_;
      if (pos_ >= src_.size()) fail(tag, std::string("missing end of ") + (block ? "block tag '%}'" : "variable tag '}}'"));
      if (open.empty()) {
        const char* close = block ? "%}" : "}}";
        char control = 0;
        size_t p = pos_;
        if ((src_[p] == '-' || src_[p] == '+') && src_.compare(p + 1, 2, close) == 0) control = src_[p++];
        if (src_.compare(p, 2, close) == 0 && (control != '+' || block)) {
          tokens_.push_back(make(block ? Token::Type::kBlockEnd : Token::Type::kVarEnd, "", pos_));
          pos_ = p + 2;
          return after_tag_end(control, block);
        }
      }
      lex_expression_token(open);
    }
  }

  void lex_expression_token(std::string& open) {
    const size_t start = pos_;
    const char c = src_[pos_];
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      while (pos_ < src_.size() && (std::isalnum(static_cast<unsigned char>(src_[pos_])) || src_[pos_] == '_')) ++pos_;
      tokens_.push_back(make(Token::Type::kName, src_.substr(start, pos_ - start), start));
      return;
    }
    if (std::isdigit(static_cast<unsigned char>(c))) {
      lex_number(start);
      return;
    }
    if (c == '\'' || c == '"') {
      lex_string(start);
      return;
    }
    static const char* const kTwoCharOps[] = {"//", "**", "==", "!=", "<=", ">="};
    for (const char* op : kTwoCharOps) {
      if (src_.compare(pos_, 2, op) == 0) {
        tokens_.push_back(make(Token::Type::kOperator, op, start));
        pos_ += 2;
        return;
      }
    }
    if (std::strchr("+-/*%~[](){}<>=.:|,;", c) && c != '\0') {
      if (c == '(' || c == '[' || c == '{') open += c;
      if (c == ')' || c == ']' || c == '}') {
        const char expected = open.empty() ? 0 : open.back() == '(' ? ')' : open.back() == '[' ? ']' : '}';
        if (c != expected)
          fail(start, std::string("unexpected '") + c + "'" + (expected ? std::string(", expected '") + expected + "'" : ""));
        open.pop_back();
      }
      tokens_.push_back(make(Token::Type::kOperator, std::string(1, c), start));
      ++pos_;
      return;
    }
    fail(start, "unexpected character '" + src_.substr(start, std::max<size_t>(1, tokenizer::utf8_valid_length(src_, start))) + "'");
  }

  void lex_number(size_t start) {
    auto digits = [&] {
      while (pos_ < src_.size() && (std::isdigit(static_cast<unsigned char>(src_[pos_])) ||
                                    (src_[pos_] == '_' && pos_ + 1 < src_.size() && std::isdigit(static_cast<unsigned char>(src_[pos_ + 1])))))
        ++pos_;
    };
    digits();
    bool is_float = false;
    if (pos_ + 1 < src_.size() && src_[pos_] == '.' && std::isdigit(static_cast<unsigned char>(src_[pos_ + 1]))) {
      is_float = true;
      ++pos_;
      digits();
    }
    if (pos_ < src_.size() && (src_[pos_] == 'e' || src_[pos_] == 'E')) {
      size_t p = pos_ + 1;
      if (p < src_.size() && (src_[p] == '+' || src_[p] == '-')) ++p;
      if (p < src_.size() && std::isdigit(static_cast<unsigned char>(src_[p]))) {
        is_float = true;
        pos_ = p;
        digits();
      }
    }
    std::string text = src_.substr(start, pos_ - start);
    text.erase(std::remove(text.begin(), text.end(), '_'), text.end());
    Token t = make(is_float ? Token::Type::kFloat : Token::Type::kInt, text, start);
    try {
      if (is_float) t.float_value = std::stod(text);
      else t.int_value = std::stoll(text);
    } catch (const std::exception&) {
      fail(start, "number " + text + " is out of range");
    }
    tokens_.push_back(std::move(t));
  }

  // Python string literal escapes (Jinja2 decodes literals with "unicode-escape").
  void lex_string(size_t start) {
    const char quote = src_[pos_++];
    std::string value;
    while (true) {
      if (pos_ >= src_.size()) fail(start, "unterminated string literal");
      const char c = src_[pos_];
      if (c == quote) {
        ++pos_;
        break;
      }
      if (c != '\\' || pos_ + 1 >= src_.size()) {
        value += c;
        ++pos_;
        continue;
      }
      const char e = src_[pos_ + 1];
      pos_ += 2;
      switch (e) {
        case 'n': value += '\n'; break;
        case 't': value += '\t'; break;
        case 'r': value += '\r'; break;
        case '\\': value += '\\'; break;
        case '\'': value += '\''; break;
        case '"': value += '"'; break;
        case 'a': value += '\a'; break;
        case 'b': value += '\b'; break;
        case 'f': value += '\f'; break;
        case 'v': value += '\v'; break;
        case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7': {
          unsigned v = static_cast<unsigned>(e - '0');
          for (int k = 0; k < 2 && pos_ < src_.size() && src_[pos_] >= '0' && src_[pos_] <= '7'; ++k)
            v = v * 8 + static_cast<unsigned>(src_[pos_++] - '0');
          tokenizer::utf8_append(value, v);
          break;
        }
        case 'x': case 'u': case 'U': {
          const size_t n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
          if (pos_ + n > src_.size()) fail(pos_ - 2, "truncated \\" + std::string(1, e) + " escape");
          const std::string hex = src_.substr(pos_, n);
          if (hex.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos)
            fail(pos_ - 2, "invalid \\" + std::string(1, e) + " escape");
          const unsigned long cp = std::stoul(hex, nullptr, 16);
          if (cp > 0x10FFFF) fail(pos_ - 2, "escape out of the Unicode range");
          tokenizer::utf8_append(value, static_cast<char32_t>(cp));
          pos_ += n;
          break;
        }
        case '\n': break;  // line continuation
        default:  // unknown escapes stay as written, as in Python
          value += '\\';
          value += e;
      }
    }
    tokens_.push_back(make(Token::Type::kString, std::move(value), start));
  }

  std::string src_;
  const std::string& name_;
  LexerOptions options_;
  std::vector<size_t> line_starts_;
  std::vector<Token> tokens_;
  struct Cursor {
    size_t offset = 0;
    int line = 1, column = 1;
  };
  mutable Cursor cursor_;  // where line_col last stopped
  size_t pos_ = 0;
  bool last_consumed_newline_ = false;
};

// Jinja2 turns \r\n and \r into \n and drops one trailing newline (keep_trailing_newline=False).
std::string normalize_source(std::string_view source) {
  std::string out;
  out.reserve(source.size());
  for (size_t i = 0; i < source.size(); ++i) {
    if (source[i] == '\r') {
      out += '\n';
      if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
    } else {
      out += source[i];
    }
  }
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

}  // namespace

std::vector<Token> lex_template(std::string_view source, const std::string& name, const LexerOptions& options) {
  return Lexer(normalize_source(source), name, options).run();
}

}  // namespace tf::jinja
