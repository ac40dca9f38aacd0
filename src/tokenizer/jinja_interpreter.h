// Tree-walking interpreter for parsed templates, with Jinja2's semantics for scoping (a for
// loop iteration, macro call and `with` block get their own scope; `if` does not), Undefined
// values, loop.* variables, macros, namespaces, break/continue and whitespace-exact output.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

#include "tokenizer/jinja_ast.h"

namespace tf::jinja {

struct Scope {
  std::unordered_map<std::string, Value> vars;
  std::shared_ptr<Scope> parent;
};

class Interpreter {
 public:
  // `globals` is the outermost scope (built-ins and render variables).
  Interpreter(const std::string& template_name, std::shared_ptr<Scope> globals);

  // Renders `body` into `out`. Throws TemplateError.
  void render(const Body& body, std::string& out);

  Value eval(const Expr& e);
  // Calls a function value (macro, global or bound method).
  Value call(const Value& callee, Args& args);
  // Throws the Jinja2 UndefinedError for using `v` (which is undefined).
  [[noreturn]] static void undefined_error(const Value& v);
  // `n` more steps of work: loop iterations, macro calls, items of a range(). Throws past
  // TemplateLimits::kLoopIterations or kRenderSeconds.
  void count_steps(int64_t n);

 private:
  enum class Flow { kNormal, kBreak, kContinue };
  Flow exec_body(const Body& body);
  Flow exec(const Stmt& s);
  Flow exec_for(const Stmt& s);
  void exec_macro_definition(const Stmt& s);
  Value call_macro(const Stmt& macro, const std::shared_ptr<Scope>& closure, Args& args);
  std::string render_to_string(const Body& body);
  Value apply_filter_chain(const std::vector<ExprPtr>& filters, Value input);

  Value lookup(const std::string& name) const;
  void assign(const AssignTarget& target, const Value& value);
  Value eval_binary(const Expr& e);
  Value eval_compare(const Expr& e);
  Args eval_args(const CallArgsNode& node);
  Value get_attribute(const Value& object, const std::string& name);
  Value get_item(const Value& object, const Value& key);
  void append_output(const std::string& text);

  // Counts one level of statement / expression / macro nesting while alive; throws past
  // TemplateLimits::kRenderNesting, and past kRenderSeconds (the clock is read every 32
  // statements and expressions: work that runs no loop, such as a macro that calls itself twice
  // per level, meets the deadline too).
  class Nesting {
   public:
    explicit Nesting(Interpreter& in);
    ~Nesting() { --in_.nesting_; }
    Nesting(const Nesting&) = delete;
    Nesting& operator=(const Nesting&) = delete;

   private:
    Interpreter& in_;
  };
  // One more loop iteration or macro call.
  void count_iteration() { count_steps(1); }
  // Throws once the render has run past TemplateLimits::kRenderSeconds.
  void check_deadline() const;

  const std::string& name_;
  std::shared_ptr<Scope> scope_;
  std::string* out_ = nullptr;
  int nesting_ = 0;
  int64_t iterations_ = 0;
  int64_t evaluations_ = 0;  // statements and expressions entered
  std::chrono::steady_clock::time_point deadline_;
};

// Python's `in`.
bool python_contains(const Value& container, const Value& item);

}  // namespace tf::jinja
