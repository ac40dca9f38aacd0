// Jinja2 parser, expressions: one function per precedence level, loosest first (conditional <
// or < and < not < comparisons < + - < ~ < * / // % < ** < unary < postfix), then filters and
// tests, following Jinja2's grammar.
#include "tokenizer/jinja_builtins.h"
#include "tokenizer/jinja_parser_internal.h"

namespace tf::jinja {

ExprPtr Parser::sealed(ExprPtr e, const Token& at) {
  int inner = 0;
  auto see = [&](const ExprPtr& child) {
    if (child) inner = std::max(inner, child->depth);
  };
  for (const ExprPtr* child : {&e->operand, &e->left, &e->right, &e->index, &e->start, &e->stop, &e->step,
                               &e->cond, &e->then, &e->otherwise})
    see(*child);
  for (const auto& child : e->items) see(child);
  for (const auto& child : e->keys) see(child);
  for (const auto& child : e->args.positional) see(child);
  for (const auto& [name, child] : e->args.keyword) see(child);
  for (const auto& [op, child] : e->comparisons) see(child);
  e->depth = inner + 1;
  if (e->depth > TemplateLimits::kSourceNesting)
    fail(at, "expression too deeply nested: more than " + std::to_string(TemplateLimits::kSourceNesting) +
                 " levels of operators, filters or brackets");
  return e;
}

bool Parser::is_tuple_end(const std::set<std::string>& extra) const {
  if (cur().type == T::kVarEnd || cur().type == T::kBlockEnd || is_op(")")) return true;
  return cur().type == T::kName && extra.count(cur().text);
}

ExprPtr Parser::parse_tuple(bool with_condexpr, const std::set<std::string>& extra_end, bool explicit_parens) {
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
  return sealed(std::move(e), start);
}

ExprPtr Parser::parse_condexpr() {
  const Nest nest(*this);  // `a if b else c if d else …` recurses
  ExprPtr expr = parse_or();
  while (is_name("if")) {
    const Token& at = next();
    auto e = node(Expr::Kind::kCondition, at);
    e->then = std::move(expr);
    e->cond = parse_or();
    if (skip_name("else")) e->otherwise = parse_condexpr();
    expr = sealed(std::move(e), at);
  }
  return expr;
}

ExprPtr Parser::binary(const Token& at, std::string op, ExprPtr l, ExprPtr r) {
  auto e = node(Expr::Kind::kBinary, at);
  e->name = std::move(op);
  e->left = std::move(l);
  e->right = std::move(r);
  return sealed(std::move(e), at);
}

ExprPtr Parser::parse_or() {
  ExprPtr left = parse_and();
  while (is_name("or")) {
    const Token& at = next();
    left = binary(at, "or", std::move(left), parse_and());
  }
  return left;
}

ExprPtr Parser::parse_and() {
  ExprPtr left = parse_not();
  while (is_name("and")) {
    const Token& at = next();
    left = binary(at, "and", std::move(left), parse_not());
  }
  return left;
}

ExprPtr Parser::parse_not() {
  if (is_name("not")) {
    const Nest nest(*this);
    const Token& at = next();
    auto e = node(Expr::Kind::kUnary, at);
    e->name = "not";
    e->operand = parse_not();
    return sealed(std::move(e), at);
  }
  return parse_compare();
}

ExprPtr Parser::parse_compare() {
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
  return sealed(std::move(e), start);
}

ExprPtr Parser::parse_math1() {
  ExprPtr left = parse_concat();
  while (is_op("+") || is_op("-")) {
    const Token& at = next();
    left = binary(at, at.text, std::move(left), parse_concat());
  }
  return left;
}

ExprPtr Parser::parse_concat() {
  ExprPtr left = parse_math2();
  while (is_op("~")) {
    const Token& at = next();
    left = binary(at, "~", std::move(left), parse_math2());
  }
  return left;
}

ExprPtr Parser::parse_math2() {
  ExprPtr left = parse_pow();
  while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
    const Token& at = next();
    left = binary(at, at.text, std::move(left), parse_pow());
  }
  return left;
}

ExprPtr Parser::parse_pow() {
  ExprPtr left = parse_unary(true);
  while (is_op("**")) {
    const Token& at = next();
    left = binary(at, "**", std::move(left), parse_unary(true));
  }
  return left;
}

ExprPtr Parser::parse_unary(bool with_filter) {
  const Nest nest(*this);  // every sub-expression passes here: (…), […], {…}, call arguments
  ExprPtr e;
  if (is_op("-") || is_op("+")) {
    const Token& at = next();
    e = node(Expr::Kind::kUnary, at);
    e->name = at.text;
    e->operand = parse_unary(false);
    e = sealed(std::move(e), at);
  } else {
    e = parse_primary();
  }
  e = parse_postfix(std::move(e));
  if (with_filter) e = parse_filter_expr(std::move(e));
  return e;
}

ExprPtr Parser::parse_primary() {
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
        return sealed(std::move(e), t);
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
        return sealed(std::move(e), t);
      }
      break;
    default:
      break;
  }
  fail(t, "unexpected " + describe(t));
}

ExprPtr Parser::literal(const Token& at, Value v) {
  auto e = node(Expr::Kind::kLiteral, at);
  e->value = std::move(v);
  return e;
}

ExprPtr Parser::parse_postfix(ExprPtr e) {
  while (true) {
    if (is_op(".")) {
      const Token& at = next();
      if (cur().type == T::kName) {
        auto g = node(Expr::Kind::kGetAttr, at);
        g->name = next().text;
        g->operand = std::move(e);
        e = sealed(std::move(g), at);
      } else if (cur().type == T::kInt) {
        auto g = node(Expr::Kind::kGetItem, at);
        g->index = literal(cur(), Value(cur().int_value));
        next();
        g->operand = std::move(e);
        e = sealed(std::move(g), at);
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

ExprPtr Parser::parse_subscript(ExprPtr operand) {
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
    return sealed(std::move(g), at);
  }
  auto s = node(Expr::Kind::kSlice, at);
  s->operand = std::move(operand);
  s->start = std::move(parts[0]);
  s->stop = std::move(parts[1]);
  s->step = std::move(parts[2]);
  return sealed(std::move(s), at);
}

void Parser::parse_call_args(CallArgsNode& args) {
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

ExprPtr Parser::parse_call(ExprPtr callee) {
  const Token& at = cur();
  auto e = node(Expr::Kind::kCall, at);
  e->operand = std::move(callee);
  parse_call_args(e->args);
  return sealed(std::move(e), at);
}

// A filter or test name, which may be dotted (`name.sub`): read as one name.
std::string Parser::expect_dotted_name() {
  std::string name = expect_name();
  while (is_op(".") && peek().type == T::kName) {
    next();
    name += "." + next().text;
  }
  return name;
}

// `name(args)` after a '|'; the operand is attached by the caller.
ExprPtr Parser::parse_filter_call(ExprPtr operand) {
  const Token& at = cur();
  std::string name = expect_dotted_name();
  if (!has_filter(name)) fail(at, "no filter named '" + name + "'");
  auto e = node(Expr::Kind::kFilter, at);
  e->name = std::move(name);
  e->operand = std::move(operand);
  if (is_op("(")) parse_call_args(e->args);
  return sealed(std::move(e), at);
}

ExprPtr Parser::parse_filter_expr(ExprPtr e) {
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

ExprPtr Parser::parse_test(ExprPtr operand) {
  next();  // 'is'
  auto e = node(Expr::Kind::kTest, cur());
  e->negated = skip_name("not");
  const Token& at = cur();
  std::string name = expect_dotted_name();
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
  return sealed(std::move(e), at);
}

}  // namespace tf::jinja
