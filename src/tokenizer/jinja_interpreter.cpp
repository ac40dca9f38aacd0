#include "tokenizer/jinja_interpreter.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>

#include "tokenizer/jinja_builtins.h"
#include "tokenizer/jinja_checked_int.h"
#include "tokenizer/jinja_error.h"
#include "tokenizer/jinja_limits.h"

namespace tf::jinja {
namespace {

// A runtime failure inside an expression; exec() adds the statement's location.
[[noreturn]] void type_error(const std::string& message) { throw std::runtime_error(message); }

// seq * n for a str or list, within TemplateLimits.
Value repeat(const Value& seq, int64_t count) {
  const size_t n = static_cast<size_t>(std::max<int64_t>(0, count));
  // An empty sequence repeats to itself: no size limit stops a loop of n empty appends
  // (fuzz_chat_template: '' * 10**11 ran for minutes).
  if (seq.is_string() ? seq.as_string().empty() : seq.as_list().empty()) return seq;
  if (seq.is_string()) {
    const std::string& s = seq.as_string();
    if (!s.empty()) check_string_size(n > TemplateLimits::kStringBytes ? n : n * s.size(), "str * int");
    std::string out;
    out.reserve(s.size() * n);
    for (size_t k = 0; k < n; ++k) out += s;
    return Value(std::move(out));
  }
  const List& items = seq.as_list();
  if (!items.empty()) check_list_size(n > TemplateLimits::kListItems ? n : n * items.size(), "list * int");
  List out;
  out.reserve(items.size() * n);
  for (size_t k = 0; k < n; ++k) out.insert(out.end(), items.begin(), items.end());
  return seq.is_tuple() ? Value::tuple(std::move(out)) : Value(std::move(out));
}

}  // namespace

Interpreter::Interpreter(const std::string& template_name, std::shared_ptr<Scope> globals)
    : name_(template_name),
      scope_(std::move(globals)),
      deadline_(std::chrono::steady_clock::now() +
                std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                    std::chrono::duration<double>(TemplateLimits::kRenderSeconds))) {}

Interpreter::Nesting::Nesting(Interpreter& in) : in_(in) {
  // Reading the clock costs ~20 ns, an evaluation more than that: every 32nd costs little, and
  // an evaluation that does much (a filter sorting thousands of items) is not left to run 256
  // times past the deadline.
  if ((++in_.evaluations_ & 31) == 0) in_.check_deadline();
  if (++in_.nesting_ > TemplateLimits::kRenderNesting) {
    --in_.nesting_;
    throw std::runtime_error("maximum recursion depth exceeded (statements, expressions and macro calls nested " +
                             std::to_string(TemplateLimits::kRenderNesting) + " levels deep)");
  }
}

void Interpreter::count_steps(int64_t n) {
  const int64_t before = iterations_;
  iterations_ += n;  // n ≤ kRangeItems: no overflow
  if (iterations_ > TemplateLimits::kLoopIterations)
    throw std::runtime_error("the template ran more than " + std::to_string(TemplateLimits::kLoopIterations) +
                             " loop iterations and macro calls (each item of a range() counts as one)");
  // An empty loop body evaluates nothing: the clock is read here too, every 1024 steps.
  if ((before >> 10) != (iterations_ >> 10)) check_deadline();
}

void Interpreter::check_deadline() const {
  if (std::chrono::steady_clock::now() > deadline_) {
    char seconds[32];
    std::snprintf(seconds, sizeof seconds, "%g", TemplateLimits::kRenderSeconds);
    throw std::runtime_error(std::string("rendering took longer than ") + seconds + " seconds");
  }
}

void Interpreter::append_output(const std::string& text) {
  check_string_size(out_->size() + text.size(), "rendering");
  *out_ += text;
}

void Interpreter::undefined_error(const Value& v) {
  throw std::runtime_error(v.undefined_hint().empty() ? "value is undefined" : v.undefined_hint());
}

void Interpreter::render(const Body& body, std::string& out) {
  out_ = &out;
  scope_ = std::make_shared<Scope>(Scope{{}, scope_});  // the template's own variables
  exec_body(body);
}

std::string Interpreter::render_to_string(const Body& body) {
  std::string buffer;
  std::string* saved = out_;
  out_ = &buffer;
  try {
    exec_body(body);
  } catch (...) {
    out_ = saved;
    throw;
  }
  out_ = saved;
  return buffer;
}

Interpreter::Flow Interpreter::exec_body(const Body& body) {
  for (const auto& s : body) {
    const Flow f = exec(*s);
    if (f != Flow::kNormal) return f;
  }
  return Flow::kNormal;
}

Value Interpreter::lookup(const std::string& name) const {
  for (const Scope* s = scope_.get(); s; s = s->parent.get()) {
    auto it = s->vars.find(name);
    if (it != s->vars.end()) return it->second;
  }
  return Value::undefined("'" + name + "' is undefined");
}

void Interpreter::assign(const AssignTarget& target, const Value& value) {
  if (!target.attribute.empty()) {
    const Value ns = lookup(target.names[0]);
    if (!ns.is_namespace()) type_error("cannot assign attribute on non-namespace object");
    check_namespace_attribute(target.attribute, value);
    ns.as_namespace().attributes.set(target.attribute, value);
    return;
  }
  if (!target.unpack) {
    scope_->vars[target.names[0]] = value;
    return;
  }
  const List items = iterate(value);
  if (items.size() != target.names.size())
    type_error("cannot unpack " + std::to_string(items.size()) + " values into " +
               std::to_string(target.names.size()) + " names");
  for (size_t i = 0; i < items.size(); ++i) scope_->vars[target.names[i]] = items[i];
}

Interpreter::Flow Interpreter::exec(const Stmt& s) {
  try {
    const Nesting nesting(*this);
    switch (s.kind) {
      case Stmt::Kind::kText:
        append_output(s.text);
        return Flow::kNormal;
      case Stmt::Kind::kOutput:
        append_output(eval(*s.expr).str());
        return Flow::kNormal;
      case Stmt::Kind::kIf:
        for (size_t i = 0; i < s.conditions.size(); ++i)
          if (eval(*s.conditions[i]).truthy()) return exec_body(s.bodies[i]);
        return exec_body(s.else_body);
      case Stmt::Kind::kFor:
        return exec_for(s);
      case Stmt::Kind::kSet:
        assign(s.target, eval(*s.expr));
        return Flow::kNormal;
      case Stmt::Kind::kSetBlock:
        assign(s.target, apply_filter_chain(s.filters, Value(render_to_string(s.body))));
        return Flow::kNormal;
      case Stmt::Kind::kMacro:
        exec_macro_definition(s);
        return Flow::kNormal;
      case Stmt::Kind::kFilterBlock:
        append_output(apply_filter_chain(s.filters, Value(render_to_string(s.body))).str());
        return Flow::kNormal;
      case Stmt::Kind::kWith: {
        auto inner = std::make_shared<Scope>(Scope{{}, scope_});
        for (const auto& [name, expr] : s.params) inner->vars[name] = eval(*expr);
        std::swap(scope_, inner);
        Flow f;
        try {
          f = exec_body(s.body);
        } catch (...) {
          std::swap(scope_, inner);
          throw;
        }
        std::swap(scope_, inner);
        return f;
      }
      case Stmt::Kind::kScope:
        return exec_body(s.body);
      case Stmt::Kind::kBreak:
        return Flow::kBreak;
      case Stmt::Kind::kContinue:
        return Flow::kContinue;
    }
  } catch (const TemplateError&) {
    throw;
  } catch (const std::exception& e) {
    throw TemplateError(TemplateError::Kind::kRuntime, located_message(name_, s.line, s.column, e.what()), s.line, s.column);
  }
  return Flow::kNormal;
}

Interpreter::Flow Interpreter::exec_for(const Stmt& s) {
  const Value iterable = eval(*s.expr);
  if (iterable.is_none() || iterable.is_number() || iterable.is_function())
    type_error("'" + iterable.type_name() + "' object is not iterable");
  List items = iterate(iterable);
  const std::shared_ptr<Scope> outer = scope_;
  struct Restore {
    std::shared_ptr<Scope>& scope;
    std::shared_ptr<Scope> saved;
    ~Restore() { scope = saved; }
  } restore{scope_, outer};

  if (s.cond) {  // `for x in xs if cond`: filter first, so loop.length counts what is kept
    List kept;
    for (const Value& item : items) {
      count_iteration();
      scope_ = std::make_shared<Scope>(Scope{{}, outer});
      assign(s.target, item);
      if (eval(*s.cond).truthy()) kept.push_back(item);
    }
    items = std::move(kept);
  }
  if (items.empty()) {
    scope_ = std::make_shared<Scope>(Scope{{}, outer});
    exec_body(s.else_body);
    return Flow::kNormal;
  }
  const int64_t n = static_cast<int64_t>(items.size());
  for (int64_t i = 0; i < n; ++i) {
    count_iteration();
    scope_ = std::make_shared<Scope>(Scope{{}, outer});
    assign(s.target, items[i]);
    Dict loop;
    loop.set("index", Value(i + 1));
    loop.set("index0", Value(i));
    loop.set("revindex", Value(n - i));
    loop.set("revindex0", Value(n - i - 1));
    loop.set("first", Value(i == 0));
    loop.set("last", Value(i == n - 1));
    loop.set("length", Value(n));
    loop.set("depth", Value(1));
    loop.set("depth0", Value(0));
    loop.set("previtem", i > 0 ? items[i - 1] : Value::undefined("there is no previous item"));
    loop.set("nextitem", i + 1 < n ? items[i + 1] : Value::undefined("there is no next item"));
    loop.set("cycle", Value::function("loop.cycle", [i](Interpreter&, Args& args) -> Value {
      if (args.positional.empty()) throw std::runtime_error("no items for cycling given");
      return args.positional[static_cast<size_t>(i) % args.positional.size()];
    }));
    scope_->vars["loop"] = Value(std::move(loop));
    if (exec_body(s.body) == Flow::kBreak) break;
  }
  return Flow::kNormal;
}

void Interpreter::exec_macro_definition(const Stmt& s) {
  const Stmt* macro = &s;
  std::weak_ptr<Scope> closure_weak = scope_;
  // The macro keeps its defining scope alive only through the scope itself (no cycle):
  // it is stored in that scope and looked up from it.
  scope_->vars[s.name] = Value::function(s.name, [macro, closure_weak](Interpreter& in, Args& args) {
    auto closure = closure_weak.lock();
    if (!closure) throw std::runtime_error("macro '" + macro->name + "' called after its scope ended");
    return in.call_macro(*macro, closure, args);
  });
}

Value Interpreter::call_macro(const Stmt& macro, const std::shared_ptr<Scope>& closure, Args& args) {
  count_iteration();  // a macro that calls itself twice per level loops without a for
  auto frame = std::make_shared<Scope>(Scope{{}, closure});
  const size_t n = macro.params.size();
  List varargs;
  for (size_t i = 0; i < args.positional.size(); ++i) {
    if (i < n) frame->vars[macro.params[i].first] = args.positional[i];
    else varargs.push_back(args.positional[i]);
  }
  Dict kwargs;
  for (auto& [key, value] : args.keyword) {
    bool found = false;
    for (size_t i = 0; i < n; ++i) {
      if (macro.params[i].first != key) continue;
      if (i < args.positional.size()) type_error("macro '" + macro.name + "' got multiple values for argument '" + key + "'");
      frame->vars[key] = value;
      found = true;
    }
    if (!found) kwargs.set(key, value);
  }
  struct Restore {
    Interpreter* in;
    std::shared_ptr<Scope> saved;
    ~Restore() { in->scope_ = saved; }
  } restore{this, scope_};
  scope_ = frame;
  for (size_t i = 0; i < n; ++i) {
    const auto& [param, def] = macro.params[i];
    if (scope_->vars.count(param)) continue;
    scope_->vars[param] = def ? eval(*def) : Value::undefined("parameter '" + param + "' was not provided");
  }
  scope_->vars["varargs"] = Value::tuple(std::move(varargs));
  scope_->vars["kwargs"] = Value(std::move(kwargs));
  return Value(render_to_string(macro.body));
}

Value Interpreter::apply_filter_chain(const std::vector<ExprPtr>& filters, Value input) {
  for (const auto& f : filters) {
    Args args = eval_args(f->args);
    input = apply_filter(*this, f->name, input, args);
  }
  return input;
}

Value Interpreter::call(const Value& callee, Args& args) {
  if (callee.is_undefined()) undefined_error(callee);
  if (!callee.is_function()) type_error("'" + callee.type_name() + "' object is not callable");
  return callee.as_function().call(*this, args);
}

Args Interpreter::eval_args(const CallArgsNode& node) {
  Args args;
  for (const auto& e : node.positional) args.positional.push_back(eval(*e));
  for (const auto& [k, e] : node.keyword) args.keyword.emplace_back(k, eval(*e));
  return args;
}

Value Interpreter::get_attribute(const Value& object, const std::string& name) {
  if (object.is_undefined()) undefined_error(object);
  if (object.is_namespace()) {
    if (const Value* v = object.as_namespace().attributes.find(name)) return *v;
    return Value::undefined("'Namespace' object has no attribute '" + name + "'");
  }
  if (name.rfind("_", 0) == 0)
    return Value::undefined("access to attribute '" + name + "' of '" + object.type_name() + "' object is unsafe.");
  // Python's getattr comes first (so dict methods win over keys), then obj[name].
  if (auto method = bound_method(object, name)) return *method;
  if (object.is_dict()) {
    if (const Value* v = object.as_dict().find(name)) return *v;
    return Value::undefined("'dict object' has no attribute '" + name + "'");
  }
  return Value::undefined("'" + object.type_name() + " object' has no attribute '" + name + "'");
}

Value Interpreter::get_item(const Value& object, const Value& key) {
  if (object.is_undefined()) undefined_error(object);
  Value v = python_index(object, key);
  if (!v.is_undefined() || !key.is_string()) return v;
  // obj["name"] falls back to getattr, as Jinja2's environment.getitem does.
  if (auto method = bound_method(object, key.as_string())) return *method;
  return v;
}

Value Interpreter::eval(const Expr& e) {
  const Nesting nesting(*this);
  switch (e.kind) {
    case Expr::Kind::kLiteral: return e.value;
    case Expr::Kind::kName: return lookup(e.name);
    case Expr::Kind::kList: {
      List items;
      items.reserve(e.items.size());
      for (const auto& item : e.items) items.push_back(eval(*item));
      return e.tuple ? Value::tuple(std::move(items)) : Value(std::move(items));
    }
    case Expr::Kind::kDict: {
      Dict d;
      for (size_t i = 0; i < e.keys.size(); ++i) {
        const Value key = eval(*e.keys[i]);
        if (key.is_undefined()) undefined_error(key);
        d.set(key.is_string() ? key.as_string() : key.str(), eval(*e.items[i]));
      }
      return Value(std::move(d));
    }
    case Expr::Kind::kGetAttr: return get_attribute(eval(*e.operand), e.name);
    case Expr::Kind::kGetItem: return get_item(eval(*e.operand), eval(*e.index));
    case Expr::Kind::kSlice: {
      const Value object = eval(*e.operand);
      if (object.is_undefined()) undefined_error(object);
      return python_slice(object, e.start ? eval(*e.start) : Value::none(), e.stop ? eval(*e.stop) : Value::none(),
                          e.step ? eval(*e.step) : Value::none());
    }
    case Expr::Kind::kCall: {
      const Value callee = eval(*e.operand);
      Args args = eval_args(e.args);
      return call(callee, args);
    }
    case Expr::Kind::kFilter: {
      const Value input = eval(*e.operand);
      Args args = eval_args(e.args);
      return apply_filter(*this, e.name, input, args);
    }
    case Expr::Kind::kTest: {
      const Value input = eval(*e.operand);
      Args args = eval_args(e.args);
      return Value(apply_test(*this, e.name, input, args) != e.negated);
    }
    case Expr::Kind::kUnary: {
      const Value v = eval(*e.operand);
      if (e.name == "not") return Value(!v.truthy());
      if (v.is_undefined()) undefined_error(v);
      if (!v.is_number()) type_error("bad operand type for unary " + e.name + ": '" + v.type_name() + "'");
      if (e.name == "+") return v.is_float() ? v : Value(v.as_int());
      return v.is_float() ? Value(-v.as_double()) : Value(checked_sub(0, v.as_int()));
    }
    case Expr::Kind::kBinary: return eval_binary(e);
    case Expr::Kind::kCompare: return eval_compare(e);
    case Expr::Kind::kCondition:
      if (eval(*e.cond).truthy()) return eval(*e.then);
      return e.otherwise ? eval(*e.otherwise) : Value::undefined("the conditional expression had no else branch");
  }
  return Value();
}

Value Interpreter::eval_binary(const Expr& e) {
  const std::string& op = e.name;
  if (op == "and") {
    Value l = eval(*e.left);
    return l.truthy() ? eval(*e.right) : l;
  }
  if (op == "or") {
    Value l = eval(*e.left);
    return l.truthy() ? l : eval(*e.right);
  }
  const Value l = eval(*e.left), r = eval(*e.right);
  if (op == "~") {
    std::string a = l.str();
    const std::string b = r.str();
    check_string_size(a.size() + b.size(), "~");
    return Value(std::move(a += b));
  }
  if (l.is_undefined()) undefined_error(l);
  if (r.is_undefined()) undefined_error(r);
  auto unsupported = [&]() -> Value {
    type_error("unsupported operand type(s) for " + op + ": '" + l.type_name() + "' and '" + r.type_name() + "'");
  };
  const bool ints = (l.is_int() || l.is_bool()) && (r.is_int() || r.is_bool());
  const bool nums = l.is_number() && r.is_number();
  if (op == "+") {
    if (ints) return Value(checked_add(l.as_int(), r.as_int()));
    if (nums) return Value(l.as_double() + r.as_double());
    if (l.is_string() && r.is_string()) {
      check_string_size(l.as_string().size() + r.as_string().size(), "str + str");
      return Value(l.as_string() + r.as_string());
    }
    if (l.is_list() && r.is_list()) {
      if (l.is_tuple() != r.is_tuple())
        type_error("can only concatenate " + l.type_name() + " (not \"" + r.type_name() + "\") to " + l.type_name());
      check_list_size(l.as_list().size() + r.as_list().size(), "list + list");
      List out = l.as_list();
      out.insert(out.end(), r.as_list().begin(), r.as_list().end());
      return l.is_tuple() ? Value::tuple(std::move(out)) : Value(std::move(out));
    }
    if (l.is_string()) type_error("can only concatenate str (not \"" + r.type_name() + "\") to str");
    if (l.is_list()) type_error("can only concatenate list (not \"" + r.type_name() + "\") to list");
    return unsupported();
  }
  if (op == "-") {
    if (ints) return Value(checked_sub(l.as_int(), r.as_int()));
    if (nums) return Value(l.as_double() - r.as_double());
    return unsupported();
  }
  if (op == "*") {
    if (ints) return Value(checked_mul(l.as_int(), r.as_int()));
    if (nums) return Value(l.as_double() * r.as_double());
    const Value& seq = l.is_string() || l.is_list() ? l : r;
    const Value& count = l.is_string() || l.is_list() ? r : l;
    if ((seq.is_string() || seq.is_list()) && (count.is_int() || count.is_bool())) return repeat(seq, count.as_int());
    return unsupported();
  }
  if (op == "/") {
    if (!nums) return unsupported();
    if (r.as_double() == 0) type_error("division by zero");
    return Value(l.as_double() / r.as_double());
  }
  if (op == "//" || op == "%") {
    if (op == "%" && l.is_string()) return Value(percent_format(l.as_string(), r));
    if (!nums) return unsupported();
    if (r.as_double() == 0) type_error(op == "//" ? "integer division or modulo by zero" : "modulo by zero");
    if (ints) {
      const int64_t a = l.as_int(), b = r.as_int();
      // INT64_MIN / -1 traps (SIGFPE); its quotient does not fit and its remainder is 0.
      if (a == std::numeric_limits<int64_t>::min() && b == -1) {
        if (op == "//") integer_overflow(std::to_string(a) + " // -1");
        return Value(int64_t{0});
      }
      int64_t q = a / b, m = a % b;
      if (m != 0 && ((m < 0) != (b < 0))) {
        --q;
        m += b;
      }
      return op == "//" ? Value(q) : Value(m);
    }
    const double a = l.as_double(), b = r.as_double();
    if (op == "//") return Value(std::floor(a / b));
    double m = std::fmod(a, b);
    if (m != 0 && ((m < 0) != (b < 0))) m += b;
    return Value(m);
  }
  if (op == "**") {
    if (ints && r.as_int() >= 0) return Value(checked_pow(l.as_int(), r.as_int()));
    if (nums) return Value(std::pow(l.as_double(), r.as_double()));
    return unsupported();
  }
  type_error("unknown operator " + op);
}

bool python_contains(const Value& container, const Value& item) {
  switch (container.kind()) {
    case Value::Kind::kUndefined: return false;
    case Value::Kind::kString:
      if (!item.is_string()) type_error("'in <string>' requires string as left operand, not " + item.type_name());
      return container.as_string().find(item.as_string()) != std::string::npos;
    case Value::Kind::kList:
      for (const Value& v : container.as_list())
        if (values_equal(v, item)) return true;
      return false;
    case Value::Kind::kDict:
      return item.is_string() && container.as_dict().find(item.as_string()) != nullptr;
    default:
      type_error("argument of type '" + container.type_name() + "' is not iterable");
  }
}

Value Interpreter::eval_compare(const Expr& e) {
  Value left = eval(*e.left);
  for (const auto& [op, expr] : e.comparisons) {
    Value right = eval(*expr);
    bool ok;
    if (op == "==") ok = values_equal(left, right);
    else if (op == "!=") ok = !values_equal(left, right);
    else if (op == "in") ok = python_contains(right, left);
    else if (op == "notin") ok = !python_contains(right, left);
    else {
      if (left.is_undefined()) undefined_error(left);
      if (right.is_undefined()) undefined_error(right);
      const int c = compare_values(left, right);
      ok = op == "<" ? c < 0 : op == "<=" ? c <= 0 : op == ">" ? c > 0 : c >= 0;
    }
    if (!ok) return Value(false);
    left = std::move(right);
  }
  return Value(true);
}

}  // namespace tf::jinja
