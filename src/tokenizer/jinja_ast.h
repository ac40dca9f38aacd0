// Syntax tree of a parsed Jinja2 template. Nodes are plain data; jinja_interpreter.cpp gives
// them meaning. Every node keeps its source line and column for error messages.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tokenizer/jinja_value.h"

namespace tf::jinja {

struct Expr;
struct Stmt;
using ExprPtr = std::unique_ptr<Expr>;
using StmtPtr = std::unique_ptr<Stmt>;
using Body = std::vector<StmtPtr>;

struct CallArgsNode {
  std::vector<ExprPtr> positional;
  std::vector<std::pair<std::string, ExprPtr>> keyword;
};

struct Expr {
  enum class Kind {
    kLiteral,    // value
    kName,       // name
    kList,       // items  (also tuples)
    kDict,       // keys[i] -> items[i]
    kGetAttr,    // operand.name
    kGetItem,    // operand[index]
    kSlice,      // operand[start:stop:step] (absent parts are null)
    kCall,       // operand(args)
    kFilter,     // operand | name(args)
    kTest,       // operand is [not] name(args)
    kUnary,      // op operand          (op: "-", "+", "not")
    kBinary,     // left op right       (op: + - * / // % ** ~ and or)
    kCompare,    // left op0 r0 op1 r1 …  (op: == != < <= > >= in notin)
    kCondition,  // then if cond else otherwise
  };
  Kind kind;
  int line = 0, column = 0;
  int depth = 1;  // levels of this subtree (the parser bounds it: TemplateLimits::kSourceNesting)
  Value value;
  std::string name;          // kName, kGetAttr, kFilter, kTest, and the operator of kUnary/kBinary
  bool negated = false;      // kTest
  bool tuple = false;        // kList written as a tuple
  ExprPtr operand, left, right, index, start, stop, step, cond, then, otherwise;
  std::vector<ExprPtr> items, keys;
  CallArgsNode args;
  std::vector<std::pair<std::string, ExprPtr>> comparisons;  // kCompare
};

// The target of `set` or `for`: one name, a tuple of names, or `ns.attr`.
struct AssignTarget {
  std::vector<std::string> names;  // one entry unless unpacking
  bool unpack = false;             // written as a tuple: `a, b` / `(a, b)`
  std::string attribute;           // non-empty for `ns.attr` (names[0] is the namespace)
};

struct Stmt {
  enum class Kind {
    kText,         // text
    kOutput,       // {{ expr }}
    kIf,           // conditions[i] -> bodies[i]; else_body
    kFor,          // target in expr [if cond]: body; else_body
    kSet,          // target = expr
    kSetBlock,     // {% set target %}body{% endset %} (filters applied to the body)
    kMacro,        // name(params) body
    kFilterBlock,  // {% filter f %}body{% endfilter %}
    kWith,         // assignments; body
    kBreak,
    kContinue,
    kScope,        // body rendered in place ({% generation %}, {% block %})
  };
  Kind kind;
  int line = 0, column = 0;
  std::string text;
  std::string name;
  ExprPtr expr, cond;
  AssignTarget target;
  std::vector<ExprPtr> conditions;
  std::vector<Body> bodies;
  Body body, else_body;
  bool recursive = false;
  std::vector<std::pair<std::string, ExprPtr>> params;  // kMacro (default may be null), kWith
  std::vector<ExprPtr> filters;                         // kSetBlock / kFilterBlock: kFilter nodes over a null operand
};

}  // namespace tf::jinja
