// Jinja2 parser: tokens -> syntax tree, following Jinja2's grammar and operator precedence
// (conditional < or < and < not < comparisons < + - < ~ < * / // % < ** < unary < postfix,
// filters and tests). Unknown tags, filters and tests are rejected here with line and column.
#pragma once

#include <string>
#include <vector>

#include "tokenizer/jinja_ast.h"
#include "tokenizer/jinja_lexer.h"

namespace tf::jinja {

// Throws TemplateError (kSyntax).
Body parse_template(const std::vector<Token>& tokens, const std::string& name);

}  // namespace tf::jinja
