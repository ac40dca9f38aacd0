// The value type of the chat-template interpreter: Python's object model as far as Jinja2
// templates observe it (None, bool, int, float, str, list, dict, Jinja's Undefined, namespace,
// callables). Lists and dicts have reference semantics like Python's; dicts keep insertion
// order. Conversions follow Python: str(), repr(), truthiness, ==, <.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

namespace tf::jinja {

class Value;
class Interpreter;
using List = std::vector<Value>;

// An insertion-ordered str -> Value map (Python dict with string keys).
class Dict {
 public:
  const Value* find(std::string_view key) const;
  Value* find(std::string_view key);
  void set(const std::string& key, Value value);
  // Out of line: Value is incomplete here, and clang instantiates the vector's size() at once.
  size_t size() const;
  bool empty() const;
  const std::vector<std::pair<std::string, Value>>& entries() const { return entries_; }

 private:
  friend class Value;
  std::vector<std::pair<std::string, Value>> entries_;
  std::unordered_map<std::string, size_t> index_;
  int nesting_ = 1;  // set when it becomes a Value (see Value::nesting)
};

// Call arguments: positional then keyword, as written at the call site.
struct Args {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keyword;
};

struct Function {
  std::string name;
  std::function<Value(Interpreter&, Args&)> call;
};

// Jinja2's `namespace(...)`: the one object templates may assign attributes on.
struct Namespace {
  Dict attributes;
};

class Value {
 public:
  enum class Kind : uint8_t { kUndefined, kNone, kBool, kInt, kFloat, kString, kList, kDict, kNamespace, kFunction };

  Value() : data_(UndefinedTag{}) {}  // undefined
  Value(bool b) : data_(b) {}
  Value(int i) : data_(static_cast<int64_t>(i)) {}
  Value(int64_t i) : data_(i) {}
  Value(double d) : data_(d) {}
  Value(std::string s) : data_(std::move(s)) {}
  Value(const char* s) : data_(std::string(s)) {}
  // Throw when the container would nest deeper than TemplateLimits::kValueNesting.
  Value(List l);
  Value(Dict d);

  // `hint` says what was missing ("'x' is undefined"), for the error raised if it is used.
  static Value undefined(std::string hint) { Value v; v.data_ = UndefinedTag{std::move(hint)}; return v; }
  static Value none() { Value v; v.data_ = NoneTag{}; return v; }
  // A Python tuple: a list that prints as (a, b) (tuple literals, dict item pairs, varargs).
  static Value tuple(List items);
  static Value make_namespace(Dict attributes);
  static Value function(std::string name, std::function<Value(Interpreter&, Args&)> call);

  Kind kind() const { return static_cast<Kind>(data_.index()); }
  bool is_undefined() const { return kind() == Kind::kUndefined; }
  bool is_none() const { return kind() == Kind::kNone; }
  bool is_bool() const { return kind() == Kind::kBool; }
  bool is_int() const { return kind() == Kind::kInt; }
  bool is_float() const { return kind() == Kind::kFloat; }
  bool is_number() const { return is_int() || is_float() || is_bool(); }  // Python: bool is an int
  bool is_string() const { return kind() == Kind::kString; }
  bool is_list() const { return kind() == Kind::kList; }
  bool is_dict() const { return kind() == Kind::kDict; }
  bool is_namespace() const { return kind() == Kind::kNamespace; }
  bool is_function() const { return kind() == Kind::kFunction; }

  bool as_bool() const { return std::get<bool>(data_); }
  int64_t as_int() const;      // bool or int
  double as_double() const;    // bool, int or float
  const std::string& as_string() const { return std::get<std::string>(data_); }
  const List& as_list() const { return std::get<std::shared_ptr<Sequence>>(data_)->items; }
  bool is_tuple() const { return is_list() && std::get<std::shared_ptr<Sequence>>(data_)->tuple; }
  const Dict& as_dict() const { return *std::get<std::shared_ptr<Dict>>(data_); }
  Namespace& as_namespace() const { return *std::get<std::shared_ptr<Namespace>>(data_); }
  const Function& as_function() const { return *std::get<std::shared_ptr<Function>>(data_); }
  const std::string& undefined_hint() const { return std::get<UndefinedTag>(data_).hint; }

  // Python truthiness (Undefined is false).
  bool truthy() const;
  // Python str() (Undefined renders as "").
  std::string str() const;
  // Python repr().
  std::string repr() const;
  // Python type name for error messages: 'str', 'int', 'dict', 'NoneType', ...
  std::string type_name() const;
  // Levels of containers: 0 for a scalar, 1 for [1, 2], 2 for [[1]]. Bounded by
  // TemplateLimits::kValueNesting, so walks over a value (repr, ==, its destructor) recurse
  // boundedly; and namespaces hold no namespaces, so no value contains itself.
  int nesting() const;
  // Whether a namespace is this value or inside it.
  bool holds_namespace() const;
  // Same object (Python `is`): identity for containers, equality for scalars.
  bool same_as(const Value& other) const;

 private:
  struct UndefinedTag { std::string hint; };
  struct NoneTag {};
  struct Sequence {
    List items;
    bool tuple;
    int nesting = 1;
  };
  static std::shared_ptr<Sequence> make_sequence(List items, bool tuple);
  std::variant<UndefinedTag, NoneTag, bool, int64_t, double, std::string, std::shared_ptr<Sequence>,
               std::shared_ptr<Dict>, std::shared_ptr<Namespace>, std::shared_ptr<Function>>
      data_;
};

// Throws unless `value` may be stored as attribute `name` of a namespace (see nesting()).
void check_namespace_attribute(const std::string& name, const Value& value);

// Python ==.
bool values_equal(const Value& a, const Value& b);
// Python <, >; throws TemplateError-compatible std::runtime_error for unorderable types.
int compare_values(const Value& a, const Value& b);

// Python repr(float): shortest round-trip digits, exponent form outside 1e-4 <= |x| < 1e16.
std::string python_float_repr(double x);
// Python repr(str).
std::string python_string_repr(std::string_view s);

}  // namespace tf::jinja
