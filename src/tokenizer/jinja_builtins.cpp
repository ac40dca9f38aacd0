// Shared helpers (indexing, len, iteration, slicing, %-formatting), tests and global functions.
// Filters are in jinja_filters.cpp, str/dict/list methods in jinja_methods.cpp.
#include "tokenizer/jinja_builtins.h"

#include <cmath>
#include <cstdio>
#include <ctime>
#include <functional>
#include <stdexcept>
#include <unordered_map>

#include "tokenizer/jinja_args.h"
#include "tokenizer/jinja_checked_int.h"
#include "tokenizer/jinja_error.h"
#include "tokenizer/jinja_interpreter.h"
#include "tokenizer/jinja_limits.h"
#include "tokenizer/jinja_strings.h"
#include "tokenizer/utf8.h"

namespace tf::jinja {

Value python_index(const Value& c, const Value& key) {
  if (c.is_list() || c.is_string()) {
    if (!key.is_int() && !key.is_bool()) return Value::undefined("'" + c.type_name() + " object' has no attribute " + key.repr());
    int64_t i = key.as_int();
    if (c.is_list()) {
      const int64_t n = static_cast<int64_t>(c.as_list().size());
      if (i < 0) i += n;
      if (i < 0 || i >= n) return Value::undefined("list object has no element " + std::to_string(key.as_int()));
      return c.as_list()[static_cast<size_t>(i)];
    }
    const std::u32string cps = to_code_points(c.as_string());
    const int64_t n = static_cast<int64_t>(cps.size());
    if (i < 0) i += n;
    if (i < 0 || i >= n) return Value::undefined("str object has no element " + std::to_string(key.as_int()));
    return Value(from_code_points(cps.substr(static_cast<size_t>(i), 1)));
  }
  if (c.is_dict()) {
    const std::string k = key.is_string() ? key.as_string() : key.str();
    if (key.is_string() || key.is_number())
      if (const Value* v = c.as_dict().find(k)) return *v;
    return Value::undefined("'dict object' has no attribute " + key.repr());
  }
  if (c.is_namespace() && key.is_string()) {
    if (const Value* v = c.as_namespace().attributes.find(key.as_string())) return *v;
  }
  return Value::undefined("'" + c.type_name() + " object' has no attribute " + key.repr());
}

size_t python_len(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kUndefined: return 0;
    case Value::Kind::kString: return tokenizer::utf8_length(v.as_string());
    case Value::Kind::kList: return v.as_list().size();
    case Value::Kind::kDict: return v.as_dict().size();
    default: throw std::runtime_error("object of type '" + v.type_name() + "' has no len()");
  }
}

List iterate(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kUndefined: return {};
    case Value::Kind::kList: return v.as_list();
    case Value::Kind::kString: {
      List out;
      for (char32_t c : to_code_points(v.as_string())) out.push_back(Value(from_code_points(std::u32string(1, c))));
      return out;
    }
    case Value::Kind::kDict: {
      List out;
      for (const auto& [k, _] : v.as_dict().entries()) out.push_back(Value(k));
      return out;
    }
    default: throw std::runtime_error("'" + v.type_name() + "' object is not iterable");
  }
}

Value python_slice(const Value& v, const Value& start_v, const Value& stop_v, const Value& step_v) {
  auto as_opt = [](const Value& x, const char* what) -> std::optional<int64_t> {
    if (x.is_none() || x.is_undefined()) return std::nullopt;
    if (!x.is_int() && !x.is_bool()) throw std::runtime_error(std::string("slice ") + what + " must be an integer or None");
    return x.as_int();
  };
  const auto start_o = as_opt(start_v, "start"), stop_o = as_opt(stop_v, "stop"), step_o = as_opt(step_v, "step");
  const int64_t step = step_o.value_or(1);
  if (step == 0) throw std::runtime_error("slice step cannot be zero");
  std::u32string cps;
  int64_t n;
  if (v.is_string()) {
    cps = to_code_points(v.as_string());
    n = static_cast<int64_t>(cps.size());
  } else if (v.is_list()) {
    n = static_cast<int64_t>(v.as_list().size());
  } else {
    throw std::runtime_error("'" + v.type_name() + "' object is not subscriptable");
  }
  // Python's PySlice_AdjustIndices.
  auto adjust = [&](std::optional<int64_t> x, int64_t def) {
    if (!x) return def;
    int64_t i = *x;
    if (i < 0) {
      i += n;
      if (i < 0) i = step < 0 ? -1 : 0;
    } else if (i >= n) {
      i = step < 0 ? n - 1 : n;
    }
    return i;
  };
  const int64_t start = adjust(start_o, step < 0 ? n - 1 : 0);
  const int64_t stop = adjust(stop_o, step < 0 ? -1 : n);
  // start and stop are in [-1, n]; stepping in 128 bits cannot overflow however large `step` is.
  std::vector<int64_t> idx;
  for (__int128 i = start; step > 0 ? i < stop : i > stop; i += step) idx.push_back(static_cast<int64_t>(i));
  if (v.is_string()) {
    std::u32string out;
    for (int64_t i : idx) out += cps[static_cast<size_t>(i)];
    return Value(from_code_points(out));
  }
  List out;
  for (int64_t i : idx) out.push_back(v.as_list()[static_cast<size_t>(i)]);
  return v.is_tuple() ? Value::tuple(std::move(out)) : Value(std::move(out));
}

// Python printf-style formatting: %s %r %d %i %f %F %e %E %g %G %x %X %o %c %% with
// flags, width and precision, and %(name)s with a dict argument.
std::string percent_format(const std::string& fmt, const Value& args) {
  const bool mapping = args.is_dict();
  List positional = args.is_list() ? args.as_list() : List{args};
  size_t next_arg = 0;
  std::string out;
  for (size_t i = 0; i < fmt.size(); ++i) {
    if (fmt[i] != '%') {
      out += fmt[i];
      continue;
    }
    if (++i >= fmt.size()) throw std::runtime_error("incomplete format");
    Value arg;
    bool have_arg = false;
    if (fmt[i] == '(') {
      const size_t close = fmt.find(')', i);
      if (close == std::string::npos || !mapping) throw std::runtime_error("format requires a mapping");
      const Value* v = args.as_dict().find(fmt.substr(i + 1, close - i - 1));
      if (!v) throw std::runtime_error("KeyError: '" + fmt.substr(i + 1, close - i - 1) + "'");
      arg = *v;
      have_arg = true;
      i = close + 1;
    }
    std::string spec = "%";
    while (i < fmt.size() && std::string("-+ 0#").find(fmt[i]) != std::string::npos) spec += fmt[i++];
    while (i < fmt.size() && std::isdigit(static_cast<unsigned char>(fmt[i]))) spec += fmt[i++];
    if (i < fmt.size() && fmt[i] == '.') {
      spec += fmt[i++];
      while (i < fmt.size() && std::isdigit(static_cast<unsigned char>(fmt[i]))) spec += fmt[i++];
    }
    if (i >= fmt.size()) throw std::runtime_error("incomplete format");
    const char conv = fmt[i];
    if (conv == '%') {
      out += '%';
      continue;
    }
    check_string_size(out.size(), "%-formatting");
    if (!have_arg) {
      if (next_arg >= positional.size()) throw std::runtime_error("not enough arguments for format string");
      arg = positional[next_arg++];
    }
    char buf[512];
    switch (conv) {
      case 's': case 'r': {
        const std::string s = conv == 's' ? arg.str() : arg.repr();
        std::snprintf(buf, sizeof(buf), (spec + "s").c_str(), s.c_str());
        out += spec == "%" ? s : std::string(buf);
        break;
      }
      case 'd': case 'i': case 'x': case 'X': case 'o': case 'c': {
        if (!arg.is_number()) throw std::runtime_error("%" + std::string(1, conv) + " format: a number is required, not " + arg.type_name());
        const long long n = arg.is_float() ? float_to_int(arg.as_double()) : arg.as_int();
        if (conv == 'c') {
          if (n < 0 || n > 0x10FFFF) throw std::runtime_error("%c arg not in range(0x110000)");
          tokenizer::utf8_append(out, static_cast<char32_t>(n));
          break;
        }
        std::snprintf(buf, sizeof(buf), (spec + "ll" + (conv == 'i' ? 'd' : conv)).c_str(), n);
        out += buf;
        break;
      }
      case 'f': case 'F': case 'e': case 'E': case 'g': case 'G': {
        if (!arg.is_number()) throw std::runtime_error("must be real number, not " + arg.type_name());
        std::snprintf(buf, sizeof(buf), (spec + conv).c_str(), arg.as_double());
        out += buf;
        break;
      }
      default:
        throw std::runtime_error(std::string("unsupported format character '") + conv + "'");
    }
  }
  if (!mapping && next_arg < positional.size() && args.is_list())
    throw std::runtime_error("not all arguments converted during string formatting");
  return out;
}

// ---- tests ----

namespace {

using TestFn = std::function<bool(Interpreter&, const Value&, Args&)>;

const Value& arg0(const Args& a, const char* test) {
  if (a.positional.empty()) throw std::runtime_error(std::string("test '") + test + "' needs an argument");
  return a.positional[0];
}

const std::unordered_map<std::string, TestFn>& tests() {
  static const std::unordered_map<std::string, TestFn> table = [] {
    std::unordered_map<std::string, TestFn> t;
    t["defined"] = [](Interpreter&, const Value& v, Args&) { return !v.is_undefined(); };
    t["undefined"] = [](Interpreter&, const Value& v, Args&) { return v.is_undefined(); };
    t["none"] = [](Interpreter&, const Value& v, Args&) { return v.is_none(); };
    t["boolean"] = [](Interpreter&, const Value& v, Args&) { return v.is_bool(); };
    t["true"] = [](Interpreter&, const Value& v, Args&) { return v.is_bool() && v.as_bool(); };
    t["false"] = [](Interpreter&, const Value& v, Args&) { return v.is_bool() && !v.as_bool(); };
    t["integer"] = [](Interpreter&, const Value& v, Args&) { return v.is_int(); };
    t["float"] = [](Interpreter&, const Value& v, Args&) { return v.is_float(); };
    t["number"] = [](Interpreter&, const Value& v, Args&) { return v.is_number(); };
    t["string"] = [](Interpreter&, const Value& v, Args&) { return v.is_string(); };
    t["mapping"] = [](Interpreter&, const Value& v, Args&) { return v.is_dict(); };
    // Jinja2's Undefined supports iter() and len(), so it counts as iterable and a sequence.
    t["iterable"] = [](Interpreter&, const Value& v, Args&) {
      return v.is_string() || v.is_list() || v.is_dict() || v.is_undefined();
    };
    t["sequence"] = t["iterable"];
    t["callable"] = [](Interpreter&, const Value& v, Args&) { return v.is_function(); };
    t["sameas"] = [](Interpreter&, const Value& v, Args& a) { return v.same_as(arg0(a, "sameas")); };
    t["escaped"] = [](Interpreter&, const Value&, Args&) { return false; };
    t["lower"] = [](Interpreter&, const Value& v, Args&) { return py_is(v.str(), "islower"); };
    t["upper"] = [](Interpreter&, const Value& v, Args&) { return py_is(v.str(), "isupper"); };
    auto integer = [](const Value& v, const char* test) {
      if (v.is_undefined()) Interpreter::undefined_error(v);
      if (!v.is_number()) throw std::runtime_error(std::string("test '") + test + "' needs a number, got " + v.type_name());
      return v.is_float() ? float_to_int(v.as_double()) : v.as_int();
    };
    t["odd"] = [integer](Interpreter&, const Value& v, Args&) { return integer(v, "odd") % 2 != 0; };
    t["even"] = [integer](Interpreter&, const Value& v, Args&) { return integer(v, "even") % 2 == 0; };
    t["divisibleby"] = [integer](Interpreter&, const Value& v, Args& a) {
      const int64_t d = integer(arg0(a, "divisibleby"), "divisibleby");
      if (d == 0) throw std::runtime_error("integer division or modulo by zero");
      return d == -1 || integer(v, "divisibleby") % d == 0;  // INT64_MIN % -1 traps
    };
    t["eq"] = [](Interpreter&, const Value& v, Args& a) { return values_equal(v, arg0(a, "eq")); };
    t["ne"] = [](Interpreter&, const Value& v, Args& a) { return !values_equal(v, arg0(a, "ne")); };
    t["lt"] = [](Interpreter&, const Value& v, Args& a) { return compare_values(v, arg0(a, "lt")) < 0; };
    t["le"] = [](Interpreter&, const Value& v, Args& a) { return compare_values(v, arg0(a, "le")) <= 0; };
    t["gt"] = [](Interpreter&, const Value& v, Args& a) { return compare_values(v, arg0(a, "gt")) > 0; };
    t["ge"] = [](Interpreter&, const Value& v, Args& a) { return compare_values(v, arg0(a, "ge")) >= 0; };
    t["equalto"] = t["=="] = t["eq"];
    t["!="] = t["ne"];
    t["lessthan"] = t["<"] = t["lt"];
    t["<="] = t["le"];
    t["greaterthan"] = t[">"] = t["gt"];
    t[">="] = t["ge"];
    t["in"] = [](Interpreter&, const Value& v, Args& a) { return python_contains(arg0(a, "in"), v); };
    t["filter"] = [](Interpreter&, const Value& v, Args&) { return v.is_string() && has_filter(v.as_string()); };
    t["test"] = [](Interpreter&, const Value& v, Args&) { return v.is_string() && has_test(v.as_string()); };
    return t;
  }();
  return table;
}

}  // namespace

bool has_test(const std::string& name) { return tests().count(name) > 0; }

bool apply_test(Interpreter& in, const std::string& name, const Value& input, Args& args) {
  auto it = tests().find(name);
  if (it == tests().end()) throw std::runtime_error("no test named '" + name + "'");
  return it->second(in, input, args);
}

// ---- globals ----

const Dict& builtin_globals() {
  static const Dict globals = [] {
  Dict g;
  g.set("range", Value::function("range", [](Interpreter& in, Args& a) -> Value {
    if (!a.keyword.empty()) throw std::runtime_error("range() takes no keyword arguments");
    std::vector<int64_t> n;
    for (const Value& v : a.positional) {
      if (!v.is_int() && !v.is_bool()) throw std::runtime_error("'" + v.type_name() + "' object cannot be interpreted as an integer");
      n.push_back(v.as_int());
    }
    if (n.empty() || n.size() > 3) throw std::runtime_error("range expected 1 to 3 arguments");
    const int64_t start = n.size() == 1 ? 0 : n[0], stop = n.size() == 1 ? n[0] : n[1], step = n.size() == 3 ? n[2] : 1;
    if (step == 0) throw std::runtime_error("range() arg 3 must not be zero");
    // The length first (128 bits: no overflow), so a range too big is refused before it is built
    // and the list is allocated once.
    const __int128 span = step > 0 ? static_cast<__int128>(stop) - start : static_cast<__int128>(start) - stop;
    const __int128 magnitude = step > 0 ? static_cast<__int128>(step) : -static_cast<__int128>(step);
    const __int128 count = span <= 0 ? 0 : (span + magnitude - 1) / magnitude;
    if (count > TemplateLimits::kRangeItems)
      throw std::runtime_error("Range too big. The sandbox blocks ranges larger than MAX_RANGE (" +
                               std::to_string(TemplateLimits::kRangeItems) + ").");
    // Building the list is work like a loop's (a template that builds a 100,000-item range in
    // every iteration of a loop would otherwise be limited by the clock alone).
    in.count_steps(static_cast<int64_t>(count));
    List out;
    out.reserve(static_cast<size_t>(count));
    for (__int128 k = 0; k < count; ++k) out.push_back(Value(static_cast<int64_t>(start + k * step)));
    return Value(std::move(out));
  }));
  auto kwargs_dict = [](Args& a, const char* fn) {
    Dict d;
    for (const Value& v : a.positional) {  // namespace({...}) / dict({...})
      if (!v.is_dict()) throw std::runtime_error(std::string(fn) + "() positional argument must be a mapping");
      for (const auto& [k, x] : v.as_dict().entries()) d.set(k, x);
    }
    for (auto& [k, v] : a.keyword) d.set(k, v);
    return d;
  };
  g.set("namespace", Value::function("namespace", [kwargs_dict](Interpreter&, Args& a) {
    return Value::make_namespace(kwargs_dict(a, "namespace"));
  }));
  g.set("dict", Value::function("dict", [kwargs_dict](Interpreter&, Args& a) { return Value(kwargs_dict(a, "dict")); }));
  // joiner(sep): a function returning "" the first time it is called and `sep` afterwards.
  g.set("joiner", Value::function("joiner", [](Interpreter&, Args& a) -> Value {
    const std::string sep = a.positional.empty() ? ", " : a.positional[0].str();
    auto used = std::make_shared<bool>(false);
    return Value::function("joiner", [sep, used](Interpreter&, Args&) -> Value {
      if (!*used) {
        *used = true;
        return Value("");
      }
      return Value(sep);
    });
  }));
  g.set("raise_exception", Value::function("raise_exception", [](Interpreter&, Args& a) -> Value {
    const std::string message = a.positional.empty() ? "" : a.positional[0].str();
    throw TemplateError(TemplateError::Kind::kRaised, message);
  }));
  g.set("strftime_now", Value::function("strftime_now", [](Interpreter&, Args& a) -> Value {
    if (a.positional.empty() || !a.positional[0].is_string()) throw std::runtime_error("strftime_now() needs a format string");
    const std::time_t now = std::time(nullptr);
    std::tm local{};
    localtime_r(&now, &local);
    char buf[256];
    const size_t n = std::strftime(buf, sizeof(buf), a.positional[0].as_string().c_str(), &local);
    return Value(std::string(buf, n));
  }));
  return g;
  }();
  return globals;
}

}  // namespace tf::jinja
