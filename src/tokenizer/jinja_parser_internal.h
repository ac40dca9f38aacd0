// The Jinja2 parser's state and grammar rules, shared by the two files that define them:
// jinja_parser.cpp (template structure: text, output, block tags) and
// jinja_parser_expressions.cpp (expressions, by Jinja2's operator precedence). Internal to the
// tokenizer layer; everything else calls parse_template (jinja_parser.h).
#pragma once

#include <algorithm>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "tokenizer/jinja_ast.h"
#include "tokenizer/jinja_error.h"
#include "tokenizer/jinja_lexer.h"
#include "tokenizer/jinja_limits.h"

namespace tf::jinja {

class Parser {
 public:
  Parser(const std::vector<Token>& tokens, const std::string& name) : toks_(tokens), name_(name) {}

  // The whole template; throws TemplateError (kSyntax).
  Body parse();

 private:
  using T = Token::Type;

  // ---- tokens ----
  const Token& cur() const { return toks_[i_]; }
  const Token& peek(size_t k = 1) const { return toks_[std::min(i_ + k, toks_.size() - 1)]; }
  const Token& next() { return toks_[i_ < toks_.size() - 1 ? i_++ : i_]; }
  bool is_op(const char* op) const { return cur().type == T::kOperator && cur().text == op; }
  bool is_name(const char* n) const { return cur().type == T::kName && cur().text == n; }
  bool skip_op(const char* op) {
    if (!is_op(op)) return false;
    next();
    return true;
  }
  bool skip_name(const char* n) {
    if (!is_name(n)) return false;
    next();
    return true;
  }

  static std::string describe(const Token& t);  // for messages: "'{%'", "string literal", ...
  [[noreturn]] void fail(const Token& t, const std::string& message) const {
    throw TemplateError(TemplateError::Kind::kSyntax, located_message(name_, t.line, t.column, message), t.line, t.column);
  }
  void expect_op(const char* op) {
    if (!skip_op(op)) fail(cur(), std::string("expected '") + op + "', found " + describe(cur()));
  }
  std::string expect_name() {
    if (cur().type != T::kName) fail(cur(), "expected a name, found " + describe(cur()));
    return next().text;
  }
  void expect_block_end() {
    if (cur().type != T::kBlockEnd) fail(cur(), "expected end of block tag '%}', found " + describe(cur()));
    next();
  }

  // Counts one level of recursion in the parser while alive (blocks in blocks, parentheses in
  // parentheses, ...); fails past TemplateLimits::kSourceNesting.
  class Nest {
   public:
    explicit Nest(Parser& p) : p_(p) {
      if (++p_.nesting_ > TemplateLimits::kSourceNesting) {
        --p_.nesting_;
        p_.fail(p_.cur(), "too deeply nested: more than " + std::to_string(TemplateLimits::kSourceNesting) +
                              " levels of blocks, brackets or operators");
      }
    }
    ~Nest() { --p_.nesting_; }
    Nest(const Nest&) = delete;
    Nest& operator=(const Nest&) = delete;

   private:
    Parser& p_;
  };
  // Sets e's depth from its children's, failing past TemplateLimits::kSourceNesting: loops build
  // chains (`a+b+c+…`, `x|f|g|…`, `a.b.c.…`) whose depth recursion guards do not see.
  ExprPtr sealed(ExprPtr e, const Token& at);

  ExprPtr node(Expr::Kind kind, const Token& at) {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->line = at.line;
    e->column = at.column;
    return e;
  }
  StmtPtr stmt(Stmt::Kind kind, const Token& at) {
    auto s = std::make_unique<Stmt>();
    s->kind = kind;
    s->line = at.line;
    s->column = at.column;
    return s;
  }

  // ---- statements (jinja_parser.cpp) ----
  // Statements up to a block tag named in `ends`; leaves the parser on that tag's name.
  Body subparse(const std::set<std::string>& ends);
  StmtPtr parse_statement();
  StmtPtr parse_if(const Token& tag);
  StmtPtr parse_for(const Token& tag);
  StmtPtr parse_set(const Token& tag);
  StmtPtr parse_macro(const Token& tag);
  StmtPtr parse_filter_block(const Token& tag);
  StmtPtr parse_with(const Token& tag);
  AssignTarget parse_assign_target(bool allow_namespace);

  // ---- expressions (jinja_parser_expressions.cpp) ----
  bool is_tuple_end(const std::set<std::string>& extra) const;
  ExprPtr parse_tuple(bool with_condexpr, const std::set<std::string>& extra_end, bool explicit_parens = false);
  ExprPtr parse_expression(bool with_condexpr) { return with_condexpr ? parse_condexpr() : parse_or(); }
  ExprPtr parse_condexpr();
  ExprPtr binary(const Token& at, std::string op, ExprPtr l, ExprPtr r);
  ExprPtr parse_or();
  ExprPtr parse_and();
  ExprPtr parse_not();
  ExprPtr parse_compare();
  ExprPtr parse_math1();
  ExprPtr parse_concat();
  ExprPtr parse_math2();
  ExprPtr parse_pow();
  ExprPtr parse_unary(bool with_filter);
  ExprPtr parse_primary();
  ExprPtr literal(const Token& at, Value v);
  ExprPtr parse_postfix(ExprPtr e);
  ExprPtr parse_subscript(ExprPtr operand);
  void parse_call_args(CallArgsNode& args);
  std::string expect_dotted_name();
  ExprPtr parse_call(ExprPtr callee);
  // `name(args)` after a '|'; the operand is attached by the caller.
  ExprPtr parse_filter_call(ExprPtr operand);
  ExprPtr parse_filter_expr(ExprPtr e);
  ExprPtr parse_test(ExprPtr operand);

  const std::vector<Token>& toks_;
  const std::string& name_;
  size_t i_ = 0;
  int loop_depth_ = 0;
  int nesting_ = 0;
};

}  // namespace tf::jinja
