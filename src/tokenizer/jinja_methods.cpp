// Methods of str, dict and list values that templates call (`content.startswith(...)`,
// `message.get('x')`, `tools.items()`...). Mutating methods are refused, as in the
// ImmutableSandboxedEnvironment transformers renders with: they read as an undefined value
// that raises the sandbox's message when called.
#include <algorithm>
#include <functional>
#include <set>
#include <stdexcept>

#include "tokenizer/jinja_args.h"
#include "tokenizer/jinja_builtins.h"
#include "tokenizer/jinja_limits.h"
#include "tokenizer/jinja_strings.h"

namespace tf::jinja {
namespace {

using Method = std::function<Value(const Value& self, Args& args)>;

Value string_list(const std::vector<std::string>& parts) {
  List out;
  out.reserve(parts.size());
  for (const auto& p : parts) out.push_back(Value(p));
  return Value(std::move(out));
}

// str.startswith/endswith accept a string or a tuple of strings.
bool affix_match(const std::string& s, const Value& affix, bool at_start) {
  const List options = affix.is_list() ? affix.as_list() : List{affix};
  for (const Value& o : options) {
    if (!o.is_string()) throw std::runtime_error("startswith/endswith arg must be str or a tuple of str, not " + o.type_name());
    const std::string& a = o.as_string();
    if (a.size() > s.size()) continue;
    if (at_start ? s.compare(0, a.size(), a) == 0 : s.compare(s.size() - a.size(), a.size(), a) == 0) return true;
  }
  return false;
}

// str.format with {} / {0} / {name} fields (no format specs beyond that).
std::string str_format(const std::string& fmt, const Args& args) {
  std::string out;
  size_t auto_index = 0;
  for (size_t i = 0; i < fmt.size(); ++i) {
    const char c = fmt[i];
    if (c == '{' && i + 1 < fmt.size() && fmt[i + 1] == '{') { out += '{'; ++i; continue; }
    if (c == '}' && i + 1 < fmt.size() && fmt[i + 1] == '}') { out += '}'; ++i; continue; }
    if (c != '{') { out += c; continue; }
    const size_t close = fmt.find('}', i);
    if (close == std::string::npos) throw std::runtime_error("Single '{' encountered in format string");
    std::string field = fmt.substr(i + 1, close - i - 1);
    if (field.find(':') != std::string::npos || field.find('!') != std::string::npos)
      throw std::runtime_error("format specifications in str.format are not supported");
    Value v;
    if (field.empty()) {
      if (auto_index >= args.positional.size()) throw std::runtime_error("Replacement index out of range for positional args tuple");
      v = args.positional[auto_index++];
    } else if (std::all_of(field.begin(), field.end(), ::isdigit)) {
      const size_t k = std::stoul(field);
      if (k >= args.positional.size()) throw std::runtime_error("Replacement index out of range for positional args tuple");
      v = args.positional[k];
    } else {
      bool found = false;
      for (const auto& [key, x] : args.keyword)
        if (key == field) { v = x; found = true; }
      if (!found) throw std::runtime_error("KeyError: '" + field + "'");
    }
    const std::string s = v.str();
    check_string_size(out.size() + s.size(), "str.format");
    out += s;
    i = close;
  }
  return out;
}

const std::unordered_map<std::string, Method>& string_methods() {
  static const std::unordered_map<std::string, Method> table = [] {
    std::unordered_map<std::string, Method> m;
    auto strip = [](bool l, bool r, const char* name) {
      return [l, r, name](const Value& s, Args& a) {
        BoundArgs b(name, a, {"chars"});
        return Value(py_strip(s.as_string(), b.get_string(0), l, r));
      };
    };
    m["strip"] = strip(true, true, "strip");
    m["lstrip"] = strip(true, false, "lstrip");
    m["rstrip"] = strip(false, true, "rstrip");
    m["split"] = [](const Value& s, Args& a) {
      BoundArgs b("split", a, {"sep", "maxsplit"});
      return string_list(py_split(s.as_string(), b.get_string(0), b.get_int(1, -1)));
    };
    m["rsplit"] = [](const Value& s, Args& a) {
      BoundArgs b("rsplit", a, {"sep", "maxsplit"});
      return string_list(py_rsplit(s.as_string(), b.get_string(0), b.get_int(1, -1)));
    };
    m["splitlines"] = [](const Value& s, Args& a) {
      BoundArgs b("splitlines", a, {"keepends"});
      return string_list(py_splitlines(s.as_string(), b.get_bool(0, false)));
    };
    m["startswith"] = [](const Value& s, Args& a) {
      BoundArgs b("startswith", a, {"prefix"});
      return Value(affix_match(s.as_string(), b[0], true));
    };
    m["endswith"] = [](const Value& s, Args& a) {
      BoundArgs b("endswith", a, {"suffix"});
      return Value(affix_match(s.as_string(), b[0], false));
    };
    m["upper"] = [](const Value& s, Args&) { return Value(py_upper(s.as_string())); };
    m["lower"] = [](const Value& s, Args&) { return Value(py_lower(s.as_string())); };
    m["capitalize"] = [](const Value& s, Args&) { return Value(py_capitalize(s.as_string())); };
    m["title"] = [](const Value& s, Args&) { return Value(py_title(s.as_string())); };
    m["replace"] = [](const Value& s, Args& a) {
      BoundArgs b("replace", a, {"old", "new", "count"});
      return Value(py_replace(s.as_string(), b[0].str(), b[1].str(), b.get_int(2, -1)));
    };
    m["find"] = [](const Value& s, Args& a) { return Value(py_find(s.as_string(), BoundArgs("find", a, {"sub"})[0].str())); };
    m["rfind"] = [](const Value& s, Args& a) { return Value(py_rfind(s.as_string(), BoundArgs("rfind", a, {"sub"})[0].str())); };
    m["index"] = [](const Value& s, Args& a) {
      const int64_t i = py_find(s.as_string(), BoundArgs("index", a, {"sub"})[0].str());
      if (i < 0) throw std::runtime_error("substring not found");
      return Value(i);
    };
    m["count"] = [](const Value& s, Args& a) { return Value(py_count(s.as_string(), BoundArgs("count", a, {"sub"})[0].str())); };
    m["join"] = [](const Value& s, Args& a) {
      BoundArgs b("join", a, {"iterable"});
      std::string out;
      bool first = true;
      for (const Value& item : iterate(b[0])) {
        if (!item.is_string()) throw std::runtime_error("sequence item: expected str instance, " + item.type_name() + " found");
        check_string_size(out.size() + s.as_string().size() + item.as_string().size(), "join");
        if (!first) out += s.as_string();
        first = false;
        out += item.as_string();
      }
      return Value(out);
    };
    m["format"] = [](const Value& s, Args& a) { return Value(str_format(s.as_string(), a)); };
    m["removeprefix"] = [](const Value& s, Args& a) {
      const std::string p = BoundArgs("removeprefix", a, {"prefix"})[0].str();
      const std::string& t = s.as_string();
      return Value(t.compare(0, p.size(), p) == 0 ? t.substr(p.size()) : t);
    };
    m["removesuffix"] = [](const Value& s, Args& a) {
      const std::string p = BoundArgs("removesuffix", a, {"suffix"})[0].str();
      const std::string& t = s.as_string();
      return Value(!p.empty() && t.size() >= p.size() && t.compare(t.size() - p.size(), p.size(), p) == 0 ? t.substr(0, t.size() - p.size()) : t);
    };
    for (const char* which : {"isdigit", "isalpha", "isalnum", "isspace", "isupper", "islower"}) {
      const std::string w = which;
      m[w] = [w](const Value& s, Args&) { return Value(py_is(s.as_string(), w)); };
    }
    return m;
  }();
  return table;
}

const std::unordered_map<std::string, Method>& dict_methods() {
  static const std::unordered_map<std::string, Method> table = [] {
    std::unordered_map<std::string, Method> m;
    m["get"] = [](const Value& d, Args& a) {
      BoundArgs b("get", a, {"key", "default"});
      if (b[0].is_string())
        if (const Value* v = d.as_dict().find(b[0].as_string())) return *v;
      return b.has(1) ? b[1] : Value::none();
    };
    m["items"] = [](const Value& d, Args&) {
      List out;
      for (const auto& [k, v] : d.as_dict().entries()) out.push_back(Value::tuple(List{Value(k), v}));
      return Value(std::move(out));
    };
    m["keys"] = [](const Value& d, Args&) {
      List out;
      for (const auto& [k, _] : d.as_dict().entries()) out.push_back(Value(k));
      return Value(std::move(out));
    };
    m["values"] = [](const Value& d, Args&) {
      List out;
      for (const auto& [_, v] : d.as_dict().entries()) out.push_back(v);
      return Value(std::move(out));
    };
    m["copy"] = [](const Value& d, Args&) { return Value(Dict(d.as_dict())); };
    return m;
  }();
  return table;
}

const std::unordered_map<std::string, Method>& list_methods() {
  static const std::unordered_map<std::string, Method> table = [] {
    std::unordered_map<std::string, Method> m;
    m["count"] = [](const Value& l, Args& a) {
      const Value x = BoundArgs("count", a, {"value"})[0];
      int64_t n = 0;
      for (const Value& v : l.as_list()) n += values_equal(v, x);
      return Value(n);
    };
    m["index"] = [](const Value& l, Args& a) {
      const Value x = BoundArgs("index", a, {"value"})[0];
      for (size_t i = 0; i < l.as_list().size(); ++i)
        if (values_equal(l.as_list()[i], x)) return Value(static_cast<int64_t>(i));
      throw std::runtime_error(x.repr() + " is not in list");
    };
    m["copy"] = [](const Value& l, Args&) { return Value(List(l.as_list())); };
    return m;
  }();
  return table;
}

}  // namespace

std::optional<Value> bound_method(const Value& object, const std::string& name) {
  static const std::set<std::string> kListMutators = {"append", "extend", "insert", "pop", "remove", "reverse", "sort", "clear"};
  static const std::set<std::string> kDictMutators = {"clear", "pop", "popitem", "setdefault", "update"};
  const std::unordered_map<std::string, Method>* table = nullptr;
  if (object.is_string()) {
    table = &string_methods();
  } else if (object.is_dict()) {
    if (kDictMutators.count(name)) return Value::undefined("access to attribute '" + name + "' of 'dict' object is unsafe.");
    table = &dict_methods();
  } else if (object.is_list()) {
    if (kListMutators.count(name)) return Value::undefined("access to attribute '" + name + "' of 'list' object is unsafe.");
    table = &list_methods();
  } else {
    return std::nullopt;
  }
  auto it = table->find(name);
  if (it == table->end()) return std::nullopt;
  const Method& method = it->second;
  return Value::function(object.type_name() + "." + name, [object, &method](Interpreter&, Args& args) {
    return method(object, args);
  });
}

}  // namespace tf::jinja
