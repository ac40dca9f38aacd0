// Jinja2 lexer: splits template source into data, tag delimiters and expression tokens, with
// Jinja2's whitespace rules (`-` / `+` markers, trim_blocks, lstrip_blocks, newline
// normalisation, the single trailing newline dropped as keep_trailing_newline=False does).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tf::jinja {

struct Token {
  enum class Type { kData, kVarBegin, kVarEnd, kBlockBegin, kBlockEnd, kName, kString, kInt, kFloat, kOperator, kEnd };
  Type type;
  std::string text;  // data, name, operator, or the decoded string literal
  int64_t int_value = 0;
  double float_value = 0;
  int line = 1, column = 1;
};

struct LexerOptions {
  bool trim_blocks = true;    // transformers' apply_chat_template settings
  bool lstrip_blocks = true;
};

// Throws TemplateError (kSyntax) naming line and column.
std::vector<Token> lex_template(std::string_view source, const std::string& name, const LexerOptions& options);

}  // namespace tf::jinja
