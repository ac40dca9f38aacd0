// Jinja2 parser, template structure: text, `{{ … }}` output and the block tags (if, for, set,
// macro, filter, with, …); expressions are parsed in jinja_parser_expressions.cpp.
#include "tokenizer/jinja_parser.h"

#include "tokenizer/jinja_parser_internal.h"

namespace tf::jinja {

std::string Parser::describe(const Token& t) {
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

Body Parser::parse() {
  Body body = subparse({});
  if (cur().type != T::kEnd) fail(cur(), "unexpected tag");
  return body;
}

// Statements up to a block tag named in `ends`; leaves the parser on that tag's name.
Body Parser::subparse(const std::set<std::string>& ends) {
  const Nest nest(*this);
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

StmtPtr Parser::parse_statement() {
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

StmtPtr Parser::parse_if(const Token& tag) {
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

StmtPtr Parser::parse_for(const Token& tag) {
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

StmtPtr Parser::parse_set(const Token& tag) {
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

StmtPtr Parser::parse_macro(const Token& tag) {
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

StmtPtr Parser::parse_filter_block(const Token& tag) {
  auto s = stmt(Stmt::Kind::kFilterBlock, tag);
  s->filters.push_back(parse_filter_call(nullptr));
  while (skip_op("|")) s->filters.push_back(parse_filter_call(nullptr));
  expect_block_end();
  s->body = subparse({"endfilter"});
  next();
  expect_block_end();
  return s;
}

StmtPtr Parser::parse_with(const Token& tag) {
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

AssignTarget Parser::parse_assign_target(bool allow_namespace) {
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

Body parse_template(const std::vector<Token>& tokens, const std::string& name) {
  return Parser(tokens, name).parse();
}

}  // namespace tf::jinja
