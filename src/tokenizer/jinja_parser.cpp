#include "tokenizer/jinja_parser.h"

#include <set>

#include "tokenizer/jinja_builtins.h"
#include "tokenizer/jinja_error.h"

namespace tf::jinja {
namespace {

using T = Token::Type;

class Parser {
 public:
  Parser(const std::vector<Token>& tokens, const std::string& name) : toks_(tokens), name_(name) {}

  Body parse() {
    Body body = subparse({});
    if (cur().type != T::kEnd) fail(cur(), "unexpected tag");
    return body;
  }

 private:
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

  static std::string describe(const Token& t) {
    switch (t.type) {
      case T::kData: return "text";
      case T::kVarBegin: return "'{{'";
      case T::kVarEnd: return "'}}'";
      case T::kBlockBegin: return "'{%'";
      case T::kBlockEnd: return "'%}'";
      case T::kName: return "'" + t.text + "'";
      case T::kString: return "string literal";
      case T::kInt: case T::kFloat: return "number " + t.text;
      case T::kOperator: return "'" + t.text + "'";
      case T::kEnd: return "end of template";
    }
    return "token";
  }

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

  // Statements up to a block tag named in `ends`; leaves the parser on that tag's name.
  Body subparse(const std::set<std::string>& ends) {
    Body body;
    while (true) {
      const Token& t = cur();
      if (t.type == T::kEnd) {
        if (!ends.empty()) fail(t, "unexpected end of template; expected '" + *ends.begin() + "' to close a block");
        return body;
      }
      if (t.type == T::kData) {
        auto s = stmt(Stmt::Kind::kText, t);
        s->text = next().text;
        body.push_back(std::move(s));
      } else if (t.type == T::kVarBegin) {
        next();
        auto s = stmt(Stmt::Kind::kOutput, t);
        s->expr = parse_tuple(true, {});
        if (cur().type != T::kVarEnd) fail(cur(), "expected end of print statement '}}', found " + describe(cur()));
        next();
        body.push_back(std::move(s));
      } else if (t.type == T::kBlockBegin) {
        const Token& tag = peek();
        if (tag.type != T::kName) fail(tag, "expected a tag name after '{%', found " + describe(tag));
        if (ends.count(tag.text)) {
          next();
          return body;
        }
        next();
        body.push_back(parse_statement());
      } else {
        fail(t, "unexpected " + describe(t));
      }
    }
  }

  StmtPtr parse_statement() {
    const Token& tag = cur();
    const std::string name = next().text;
    if (name == "if") return parse_if(tag);
    if (name == "for") return parse_for(tag);
    if (name == "set") return parse_set(tag);
    if (name == "macro") return parse_macro(tag);
    if (name == "filter") return parse_filter_block(tag);
    if (name == "with") return parse_with(tag);
    if (name == "break" || name == "continue") {
      if (loop_depth_ == 0) fail(tag, "'" + name + "' outside of a for loop");
      expect_block_end();
      return stmt(name == "break" ? Stmt::Kind::kBreak : Stmt::Kind::kContinue, tag);
    }
    if (name == "generation" || name == "block") {  // rendered in place
      auto s = stmt(Stmt::Kind::kScope, tag);
      if (name == "block") s->name = expect_name();
      expect_block_end();
      const std::string end = "end" + name;
      s->body = subparse({end});
      next();
      if (name == "block" && cur().type == T::kName) next();  // {% endblock name %}
      expect_block_end();
      return s;
    }
    static const std::set<std::string> kUnsupported = {"include", "import", "from", "extends", "call", "autoescape", "do", "trans", "pluralize"};
    if (kUnsupported.count(name)) fail(tag, "the '" + name + "' tag is not supported by tightfit's template engine");
    if (name.rfind("end", 0) == 0 || name == "elif" || name == "else") fail(tag, "unexpected '" + name + "' (no open block to close)");
    fail(tag, "unknown tag '" + name + "'");
  }

  StmtPtr parse_if(const Token& tag) {
    auto s = stmt(Stmt::Kind::kIf, tag);
    s->conditions.push_back(parse_tuple(false, {}));
    expect_block_end();
    while (true) {
      s->bodies.push_back(subparse({"elif", "else", "endif"}));
      const std::string which = next().text;
      if (which == "elif") {
        s->conditions.push_back(parse_tuple(false, {}));
        expect_block_end();
        continue;
      }
      if (which == "else") {
        expect_block_end();
        s->else_body = subparse({"endif"});
        next();
      }
      expect_block_end();
      return s;
    }
  }

  StmtPtr parse_for(const Token& tag) {
    auto s = stmt(Stmt::Kind::kFor, tag);
    s->target = parse_assign_target(false);
    if (!skip_name("in")) fail(cur(), "expected 'in' in for loop, found " + describe(cur()));
    s->expr = parse_tuple(false, {"recursive"});
    if (skip_name("if")) s->cond = parse_expression(true);
    if (skip_name("recursive")) fail(toks_[i_ - 1], "recursive for loops are not supported");
    expect_block_end();
    ++loop_depth_;
    s->body = subparse({"endfor", "else"});
    --loop_depth_;
    if (next().text == "else") {
      expect_block_end();
      s->else_body = subparse({"endfor"});
      next();
    }
    expect_block_end();
    return s;
  }

  StmtPtr parse_set(const Token& tag) {
    AssignTarget target = parse_assign_target(true);
    if (skip_op("=")) {
      auto s = stmt(Stmt::Kind::kSet, tag);
      s->target = std::move(target);
      s->expr = parse_tuple(true, {});
      expect_block_end();
      return s;
    }
    auto s = stmt(Stmt::Kind::kSetBlock, tag);
    s->target = std::move(target);
    while (is_op("|")) {
      next();
      s->filters.push_back(parse_filter_call(nullptr));
    }
    expect_block_end();
    s->body = subparse({"endset"});
    next();
    expect_block_end();
    return s;
  }

  StmtPtr parse_macro(const Token& tag) {
    auto s = stmt(Stmt::Kind::kMacro, tag);
    s->name = expect_name();
    expect_op("(");
    while (!is_op(")")) {
      if (!s->params.empty()) expect_op(",");
      if (is_op(")")) break;
      std::string param = expect_name();
      ExprPtr def;
      if (skip_op("=")) def = parse_expression(true);
      s->params.emplace_back(std::move(param), std::move(def));
    }
    expect_op(")");
    expect_block_end();
    const int saved = loop_depth_;
    loop_depth_ = 0;
    s->body = subparse({"endmacro"});
    loop_depth_ = saved;
    next();
    if (cur().type == T::kName) next();  // {% endmacro name %}
    expect_block_end();
    return s;
  }

  StmtPtr parse_filter_block(const Token& tag) {
    auto s = stmt(Stmt::Kind::kFilterBlock, tag);
    s->filters.push_back(parse_filter_call(nullptr));
    while (skip_op("|")) s->filters.push_back(parse_filter_call(nullptr));
    expect_block_end();
    s->body = subparse({"endfilter"});
    next();
    expect_block_end();
    return s;
  }

  StmtPtr parse_with(const Token& tag) {
    auto s = stmt(Stmt::Kind::kWith, tag);
    while (cur().type != T::kBlockEnd) {
      if (!s->params.empty()) expect_op(",");
      std::string name = expect_name();
      expect_op("=");
      s->params.emplace_back(std::move(name), parse_expression(true));
    }
    expect_block_end();
    s->body = subparse({"endwith"});
    next();
    expect_block_end();
    return s;
  }

  AssignTarget parse_assign_target(bool allow_namespace) {
    AssignTarget target;
    if (allow_namespace && cur().type == T::kName && peek().type == T::kOperator && peek().text == ".") {
      target.names.push_back(next().text);
      next();
      target.attribute = expect_name();
      return target;
    }
    const bool paren = skip_op("(");
    target.names.push_back(expect_name());
    while (skip_op(",")) {
      target.unpack = true;
      if (paren && is_op(")")) break;
      if (cur().type != T::kName) break;  // trailing comma
      target.names.push_back(expect_name());
    }
    if (paren) {
      target.unpack = true;
      expect_op(")");
    }
    return target;
  }

  // ---- expressions ----

  bool is_tuple_end(const std::set<std::string>& extra) const {
    if (cur().type == T::kVarEnd || cur().type == T::kBlockEnd || is_op(")")) return true;
    return cur().type == T::kName && extra.count(cur().text);
  }

  ExprPtr parse_tuple(bool with_condexpr, const std::set<std::string>& extra_end, bool explicit_parens = false) {
    const Token& start = cur();
    std::vector<ExprPtr> items;
    bool is_tuple = false;
    while (true) {
      if (!items.empty()) expect_op(",");
      if (is_tuple_end(extra_end)) break;
      items.push_back(parse_expression(with_condexpr));
      if (is_op(",")) is_tuple = true;
      else break;
    }
    if (!is_tuple) {
      if (!items.empty()) return std::move(items[0]);
      if (!explicit_parens) fail(cur(), "expected an expression, found " + describe(cur()));
    }
    auto e = node(Expr::Kind::kList, start);
    e->items = std::move(items);
    e->tuple = true;
    return e;
  }

  ExprPtr parse_expression(bool with_condexpr) { return with_condexpr ? parse_condexpr() : parse_or(); }

  ExprPtr parse_condexpr() {
    ExprPtr expr = parse_or();
    while (is_name("if")) {
      const Token& at = next();
      auto e = node(Expr::Kind::kCondition, at);
      e->then = std::move(expr);
      e->cond = parse_or();
      if (skip_name("else")) e->otherwise = parse_condexpr();
      expr = std::move(e);
    }
    return expr;
  }

  ExprPtr binary(const Token& at, std::string op, ExprPtr l, ExprPtr r) {
    auto e = node(Expr::Kind::kBinary, at);
    e->name = std::move(op);
    e->left = std::move(l);
    e->right = std::move(r);
    return e;
  }

  ExprPtr parse_or() {
    ExprPtr left = parse_and();
    while (is_name("or")) {
      const Token& at = next();
      left = binary(at, "or", std::move(left), parse_and());
    }
    return left;
  }

  ExprPtr parse_and() {
    ExprPtr left = parse_not();
    while (is_name("and")) {
      const Token& at = next();
      left = binary(at, "and", std::move(left), parse_not());
    }
    return left;
  }

  ExprPtr parse_not() {
    if (is_name("not")) {
      const Token& at = next();
      auto e = node(Expr::Kind::kUnary, at);
      e->name = "not";
      e->operand = parse_not();
      return e;
    }
    return parse_compare();
  }

  ExprPtr parse_compare() {
    const Token& start = cur();
    ExprPtr expr = parse_math1();
    std::vector<std::pair<std::string, ExprPtr>> ops;
    while (true) {
      if (cur().type == T::kOperator && (cur().text == "==" || cur().text == "!=" || cur().text == "<" ||
                                         cur().text == "<=" || cur().text == ">" || cur().text == ">=")) {
        std::string op = next().text;
        ops.emplace_back(std::move(op), parse_math1());
      } else if (skip_name("in")) {
        ops.emplace_back("in", parse_math1());
      } else if (is_name("not") && peek().type == T::kName && peek().text == "in") {
        next();
        next();
        ops.emplace_back("notin", parse_math1());
      } else {
        break;
      }
    }
    if (ops.empty()) return expr;
    auto e = node(Expr::Kind::kCompare, start);
    e->left = std::move(expr);
    e->comparisons = std::move(ops);
    return e;
  }

  ExprPtr parse_math1() {
    ExprPtr left = parse_concat();
    while (is_op("+") || is_op("-")) {
      const Token& at = next();
      left = binary(at, at.text, std::move(left), parse_concat());
    }
    return left;
  }

  ExprPtr parse_concat() {
    ExprPtr left = parse_math2();
    while (is_op("~")) {
      const Token& at = next();
      left = binary(at, "~", std::move(left), parse_math2());
    }
    return left;
  }

  ExprPtr parse_math2() {
    ExprPtr left = parse_pow();
    while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
      const Token& at = next();
      left = binary(at, at.text, std::move(left), parse_pow());
    }
    return left;
  }

  ExprPtr parse_pow() {
    ExprPtr left = parse_unary(true);
    while (is_op("**")) {
      const Token& at = next();
      left = binary(at, "**", std::move(left), parse_unary(true));
    }
    return left;
  }

  ExprPtr parse_unary(bool with_filter) {
    ExprPtr e;
    if (is_op("-") || is_op("+")) {
      const Token& at = next();
      e = node(Expr::Kind::kUnary, at);
      e->name = at.text;
      e->operand = parse_unary(false);
    } else {
      e = parse_primary();
    }
    e = parse_postfix(std::move(e));
    if (with_filter) e = parse_filter_expr(std::move(e));
    return e;
  }

  ExprPtr parse_primary() {
    const Token& t = cur();
    switch (t.type) {
      case T::kName: {
        next();
        if (t.text == "true" || t.text == "True") return literal(t, Value(true));
        if (t.text == "false" || t.text == "False") return literal(t, Value(false));
        if (t.text == "none" || t.text == "None") return literal(t, Value::none());
        auto e = node(Expr::Kind::kName, t);
        e->name = t.text;
        return e;
      }
      case T::kString: {
        std::string s = next().text;
        while (cur().type == T::kString) s += next().text;  // adjacent literals concatenate
        return literal(t, Value(std::move(s)));
      }
      case T::kInt: next(); return literal(t, Value(t.int_value));
      case T::kFloat: next(); return literal(t, Value(t.float_value));
      case T::kOperator:
        if (t.text == "(") {
          next();
          ExprPtr e = parse_tuple(true, {}, true);
          expect_op(")");
          return e;
        }
        if (t.text == "[") {
          next();
          auto e = node(Expr::Kind::kList, t);
          while (!is_op("]")) {
            if (!e->items.empty()) expect_op(",");
            if (is_op("]")) break;
            e->items.push_back(parse_expression(true));
          }
          expect_op("]");
          return e;
        }
        if (t.text == "{") {
          next();
          auto e = node(Expr::Kind::kDict, t);
          while (!is_op("}")) {
            if (!e->items.empty()) expect_op(",");
            if (is_op("}")) break;
            e->keys.push_back(parse_expression(true));
            expect_op(":");
            e->items.push_back(parse_expression(true));
          }
          expect_op("}");
          return e;
        }
        break;
      default:
        break;
    }
    fail(t, "unexpected " + describe(t));
  }

  ExprPtr literal(const Token& at, Value v) {
    auto e = node(Expr::Kind::kLiteral, at);
    e->value = std::move(v);
    return e;
  }

  ExprPtr parse_postfix(ExprPtr e) {
    while (true) {
      if (is_op(".")) {
        const Token& at = next();
        if (cur().type == T::kName) {
          auto g = node(Expr::Kind::kGetAttr, at);
          g->name = next().text;
          g->operand = std::move(e);
          e = std::move(g);
        } else if (cur().type == T::kInt) {
          auto g = node(Expr::Kind::kGetItem, at);
          g->index = literal(cur(), Value(cur().int_value));
          next();
          g->operand = std::move(e);
          e = std::move(g);
        } else {
          fail(cur(), "expected an attribute name after '.', found " + describe(cur()));
        }
      } else if (is_op("[")) {
        e = parse_subscript(std::move(e));
      } else if (is_op("(")) {
        e = parse_call(std::move(e));
      } else {
        return e;
      }
    }
  }

  ExprPtr parse_subscript(ExprPtr operand) {
    const Token& at = next();  // '['
    ExprPtr parts[3];
    int colons = 0;
    if (!is_op(":")) parts[0] = parse_expression(true);
    while (colons < 2 && skip_op(":")) {
      ++colons;
      if (!is_op(":") && !is_op("]")) parts[colons] = parse_expression(true);
    }
    expect_op("]");
    if (colons == 0) {
      auto g = node(Expr::Kind::kGetItem, at);
      g->operand = std::move(operand);
      g->index = std::move(parts[0]);
      return g;
    }
    auto s = node(Expr::Kind::kSlice, at);
    s->operand = std::move(operand);
    s->start = std::move(parts[0]);
    s->stop = std::move(parts[1]);
    s->step = std::move(parts[2]);
    return s;
  }

  void parse_call_args(CallArgsNode& args) {
    expect_op("(");
    bool first = true;
    while (!is_op(")")) {
      if (!first) expect_op(",");
      first = false;
      if (is_op(")")) break;
      if (is_op("*") || is_op("**")) fail(cur(), "*args and **kwargs in calls are not supported");
      if (cur().type == T::kName && peek().type == T::kOperator && peek().text == "=") {
        std::string key = next().text;
        next();
        args.keyword.emplace_back(std::move(key), parse_expression(true));
      } else {
        if (!args.keyword.empty()) fail(cur(), "positional argument after keyword argument");
        args.positional.push_back(parse_expression(true));
      }
    }
    expect_op(")");
  }

  ExprPtr parse_call(ExprPtr callee) {
    auto e = node(Expr::Kind::kCall, cur());
    e->operand = std::move(callee);
    parse_call_args(e->args);
    return e;
  }

  // `name(args)` after a '|'; the operand is attached by the caller.
  ExprPtr parse_filter_call(ExprPtr operand) {
    const Token& at = cur();
    std::string name = expect_name();
    while (is_op(".") && peek().type == T::kName) {
      next();
      name += "." + next().text;
    }
    if (!has_filter(name)) fail(at, "no filter named '" + name + "'");
    auto e = node(Expr::Kind::kFilter, at);
    e->name = std::move(name);
    e->operand = std::move(operand);
    if (is_op("(")) parse_call_args(e->args);
    return e;
  }

  ExprPtr parse_filter_expr(ExprPtr e) {
    while (true) {
      if (is_op("|")) {
        next();
        e = parse_filter_call(std::move(e));
      } else if (is_name("is")) {
        e = parse_test(std::move(e));
      } else if (is_op("(")) {
        e = parse_call(std::move(e));
      } else {
        return e;
      }
    }
  }

  ExprPtr parse_test(ExprPtr operand) {
    next();  // 'is'
    auto e = node(Expr::Kind::kTest, cur());
    e->negated = skip_name("not");
    const Token& at = cur();
    std::string name = expect_name();
    while (is_op(".") && peek().type == T::kName) {
      next();
      name += "." + next().text;
    }
    if (!has_test(name)) fail(at, "no test named '" + name + "'");
    e->name = std::move(name);
    e->operand = std::move(operand);
    if (is_op("(")) {
      parse_call_args(e->args);
    } else if ((cur().type == T::kName || cur().type == T::kString || cur().type == T::kInt ||
                cur().type == T::kFloat || is_op("[") || is_op("{") || is_op("(")) &&
               !is_name("else") && !is_name("or") && !is_name("and")) {
      if (is_name("is")) fail(cur(), "you cannot chain multiple tests with 'is'");
      e->args.positional.push_back(parse_postfix(parse_primary()));
    }
    return e;
  }

  const std::vector<Token>& toks_;
  const std::string& name_;
  size_t i_ = 0;
  int loop_depth_ = 0;
};

}  // namespace

Body parse_template(const std::vector<Token>& tokens, const std::string& name) {
  return Parser(tokens, name).parse();
}

}  // namespace tf::jinja
