// Jinja2's built-in filters with its semantics, and transformers' `tojson` override
// (json.dumps with ensure_ascii=False; indent, separators and sort_keys accepted).
#include <algorithm>
#include <cmath>
#include <functional>
#include <stdexcept>
#include <unordered_map>

#include "tokenizer/jinja_args.h"
#include "tokenizer/jinja_builtins.h"
#include "tokenizer/jinja_checked_int.h"
#include "tokenizer/jinja_interpreter.h"
#include "tokenizer/jinja_json.h"
#include "tokenizer/jinja_limits.h"
#include "tokenizer/jinja_strings.h"
#include "tokenizer/utf8.h"

namespace tf::jinja {
namespace {

using FilterFn = std::function<Value(Interpreter&, const Value&, Args&)>;

// Jinja2's make_attrgetter: "a.b.0" walks attributes / items, integer parts index.
Value get_path(const Value& v, const Value& attribute) {
  if (attribute.is_int()) return python_index(v, attribute);
  Value cur = v;
  const std::string path = attribute.str();
  size_t pos = 0;
  while (true) {
    const size_t dot = path.find('.', pos);
    const std::string part = path.substr(pos, dot == std::string::npos ? std::string::npos : dot - pos);
    if (cur.is_undefined()) Interpreter::undefined_error(cur);
    const bool numeric = !part.empty() && std::all_of(part.begin(), part.end(), ::isdigit);
    Value next = python_index(cur, Value(part));
    if (next.is_undefined() && numeric) next = python_index(cur, Value(static_cast<int64_t>(std::stoll(part))));
    cur = next;
    if (dot == std::string::npos) return cur;
    pos = dot + 1;
  }
}

// Sort key for sort/unique/min/max: strings lower-cased unless case_sensitive.
Value sort_key(const Value& v, bool case_sensitive) {
  return v.is_string() && !case_sensitive ? Value(py_lower(v.as_string())) : v;
}

Value key_of(const Value& item, const BoundArgs& b, size_t attr_index, bool case_sensitive) {
  return sort_key(b.has(attr_index) ? get_path(item, b[attr_index]) : item, case_sensitive);
}

std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&#34;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

// select/reject/selectattr/rejectattr: `test_at` is the index of the test name in the
// positional arguments (further ones go to the test).
Value select_items(Interpreter& in, const Value& seq, Args& a, bool by_attribute, bool keep_if) {
  const size_t test_at = by_attribute ? 1 : 0;
  if (by_attribute && a.positional.empty()) throw std::runtime_error("selectattr/rejectattr need an attribute name");
  List out;
  for (const Value& item : iterate(seq)) {
    const Value subject = by_attribute ? get_path(item, a.positional[0]) : item;
    bool ok;
    if (a.positional.size() <= test_at) {
      ok = subject.truthy();
    } else {
      Args test_args;
      test_args.positional.assign(a.positional.begin() + static_cast<long>(test_at) + 1, a.positional.end());
      test_args.keyword = a.keyword;
      ok = apply_test(in, a.positional[test_at].str(), subject, test_args);
    }
    if (ok == keep_if) out.push_back(item);
  }
  return Value(std::move(out));
}

std::string do_indent(const std::string& input, const std::string& indention, bool first, bool blank) {
  const std::vector<std::string> lines = py_splitlines(input + "\n", false);
  check_string_size(input.size() + (lines.size() + 1) * indention.size(), "indent");
  std::string rv;
  if (blank) {
    for (size_t i = 0; i < lines.size(); ++i) rv += (i ? "\n" + indention : "") + lines[i];
  } else {
    rv = lines.empty() ? "" : lines[0];
    for (size_t i = 1; i < lines.size(); ++i) rv += "\n" + (lines[i].empty() ? "" : indention) + lines[i];
  }
  return first ? indention + rv : rv;
}

double python_round(double x, int64_t digits) {
  const double scale = std::pow(10.0, static_cast<double>(digits));
  const double y = x * scale;
  double r = std::nearbyint(y);  // ties to even, as Python's round
  if (std::fabs(y - std::trunc(y)) != 0.5) r = std::round(y);
  return r / scale;
}

const std::unordered_map<std::string, FilterFn>& filters() {
  static const std::unordered_map<std::string, FilterFn> table = [] {
    std::unordered_map<std::string, FilterFn> f;
    f["safe"] = [](Interpreter&, const Value& v, Args&) { return v; };
    f["string"] = [](Interpreter&, const Value& v, Args&) { return Value(v.str()); };
    f["escape"] = [](Interpreter&, const Value& v, Args&) { return Value(html_escape(v.str())); };
    f["e"] = f["forceescape"] = f["escape"];
    f["upper"] = [](Interpreter&, const Value& v, Args&) { return Value(py_upper(v.str())); };
    f["lower"] = [](Interpreter&, const Value& v, Args&) { return Value(py_lower(v.str())); };
    f["capitalize"] = [](Interpreter&, const Value& v, Args&) { return Value(py_capitalize(v.str())); };
    f["title"] = [](Interpreter&, const Value& v, Args&) {
      // Jinja2 capitalizes after whitespace and - ( { [ <.
      std::string out;
      bool start = true;
      for (char32_t c : to_code_points(v.str())) {
        const std::string ch = from_code_points(std::u32string(1, c));
        const bool boundary = py_isspace(c) || c == '-' || c == '(' || c == '{' || c == '[' || c == '<';
        out += boundary ? ch : start ? py_upper(ch) : py_lower(ch);
        start = boundary;
      }
      return Value(out);
    };
    f["trim"] = [](Interpreter&, const Value& v, Args& a) {
      BoundArgs b("trim", a, {"chars"});
      return Value(py_strip(v.str(), b.get_string(0), true, true));
    };
    f["replace"] = [](Interpreter&, const Value& v, Args& a) {
      BoundArgs b("replace", a, {"old", "new", "count"});
      return Value(py_replace(v.str(), b[0].str(), b[1].str(), b.has(2) && !b[2].is_none() ? b.get_int(2, -1) : -1));
    };
    f["length"] = [](Interpreter&, const Value& v, Args&) { return Value(static_cast<int64_t>(python_len(v))); };
    f["count"] = f["length"];
    f["wordcount"] = [](Interpreter&, const Value& v, Args&) {
      int64_t n = 0;
      bool in_word = false;
      for (char32_t c : to_code_points(v.str())) {
        const bool word = c == '_' || (c < 0x80 ? std::isalnum(static_cast<int>(c)) != 0 : !py_isspace(c));
        if (word && !in_word) ++n;
        in_word = word;
      }
      return Value(n);
    };
    f["list"] = [](Interpreter&, const Value& v, Args&) { return Value(iterate(v)); };
    f["first"] = [](Interpreter&, const Value& v, Args&) {
      const List items = iterate(v);
      return items.empty() ? Value::undefined("No first item, sequence was empty.") : items.front();
    };
    f["last"] = [](Interpreter&, const Value& v, Args&) {
      const List items = iterate(v);
      return items.empty() ? Value::undefined("No last item, sequence was empty.") : items.back();
    };
    f["reverse"] = [](Interpreter&, const Value& v, Args&) {
      if (v.is_string()) {
        std::u32string cps = to_code_points(v.as_string());
        std::reverse(cps.begin(), cps.end());
        return Value(from_code_points(cps));
      }
      List items = iterate(v);
      std::reverse(items.begin(), items.end());
      return Value(std::move(items));
    };
    f["join"] = [](Interpreter&, const Value& v, Args& a) {
      BoundArgs b("join", a, {"d", "attribute"});
      const std::string sep = b.has(0) ? b[0].str() : "";
      std::string out;
      bool first = true;
      for (const Value& item : iterate(v)) {
        const std::string s = (b.has(1) ? get_path(item, b[1]) : item).str();
        check_string_size(out.size() + sep.size() + s.size(), "join");
        if (!first) out += sep;
        first = false;
        out += s;
      }
      return Value(out);
    };
    f["default"] = [](Interpreter&, const Value& v, Args& a) {
      BoundArgs b("default", a, {"default_value", "boolean"});
      const bool use_default = v.is_undefined() || (b.get_bool(1, false) && !v.truthy());
      return use_default ? (b.has(0) ? b[0] : Value("")) : v;
    };
    f["d"] = f["default"];
    f["items"] = [](Interpreter&, const Value& v, Args&) {
      if (v.is_undefined()) return Value(List{});
      if (!v.is_dict()) throw std::runtime_error("Can only get item pairs from a mapping.");
      List out;
      for (const auto& [k, x] : v.as_dict().entries()) out.push_back(Value::tuple(List{Value(k), x}));
      return Value(std::move(out));
    };
    f["dictsort"] = [](Interpreter&, const Value& v, Args& a) {
      BoundArgs b("dictsort", a, {"case_sensitive", "by", "reverse"});
      if (!v.is_dict()) throw std::runtime_error("dictsort needs a mapping");
      const bool cs = b.get_bool(0, false), by_value = b.has(1) && b[1].str() == "value";
      List out;
      for (const auto& [k, x] : v.as_dict().entries()) out.push_back(Value::tuple(List{Value(k), x}));
      std::stable_sort(out.begin(), out.end(), [&](const Value& p, const Value& q) {
        return compare_values(sort_key(p.as_list()[by_value], cs), sort_key(q.as_list()[by_value], cs)) < 0;
      });
      if (b.get_bool(2, false)) std::reverse(out.begin(), out.end());
      return Value(std::move(out));
    };
    f["sort"] = [](Interpreter&, const Value& v, Args& a) {
      BoundArgs b("sort", a, {"reverse", "case_sensitive", "attribute"});
      List items = iterate(v);
      const bool cs = b.get_bool(1, false), rev = b.get_bool(0, false);
      std::stable_sort(items.begin(), items.end(), [&](const Value& p, const Value& q) {
        const int c = compare_values(key_of(p, b, 2, cs), key_of(q, b, 2, cs));
        return rev ? c > 0 : c < 0;
      });
      return Value(std::move(items));
    };
    f["unique"] = [](Interpreter&, const Value& v, Args& a) {
      BoundArgs b("unique", a, {"case_sensitive", "attribute"});
      List out, seen;
      for (const Value& item : iterate(v)) {
        const Value key = key_of(item, b, 1, b.get_bool(0, false));
        if (std::none_of(seen.begin(), seen.end(), [&](const Value& s) { return values_equal(s, key); })) {
          seen.push_back(key);
          out.push_back(item);
        }
      }
      return Value(std::move(out));
    };
    auto extreme = [](bool want_max) {
      return [want_max](Interpreter&, const Value& v, Args& a) {
        BoundArgs b(want_max ? "max" : "min", a, {"case_sensitive", "attribute"});
        const List items = iterate(v);
        if (items.empty()) return Value::undefined(std::string("No aggregated item, sequence was empty."));
        const Value* best = &items[0];
        for (const Value& item : items) {
          const int c = compare_values(key_of(item, b, 1, b.get_bool(0, false)), key_of(*best, b, 1, b.get_bool(0, false)));
          if (want_max ? c > 0 : c < 0) best = &item;
        }
        return *best;
      };
    };
    f["max"] = extreme(true);
    f["min"] = extreme(false);
    f["sum"] = [](Interpreter&, const Value& v, Args& a) {
      BoundArgs b("sum", a, {"attribute", "start"});
      Value total = b.get_or(1, Value(0));
      for (const Value& item : iterate(v)) {
        const Value x = b.has(0) ? get_path(item, b[0]) : item;
        if (!x.is_number() || !total.is_number()) throw std::runtime_error("unsupported operand type(s) for +: '" + total.type_name() + "' and '" + x.type_name() + "'");
        total = total.is_float() || x.is_float() ? Value(total.as_double() + x.as_double())
                                                 : Value(checked_add(total.as_int(), x.as_int()));
      }
      return total;
    };
    f["abs"] = [](Interpreter&, const Value& v, Args&) {
      if (!v.is_number()) throw std::runtime_error("bad operand type for abs(): '" + v.type_name() + "'");
      return v.is_float() ? Value(std::fabs(v.as_double())) : Value(v.as_int() < 0 ? checked_sub(0, v.as_int()) : v.as_int());
    };
    f["int"] = [](Interpreter&, const Value& v, Args& a) {
      BoundArgs b("int", a, {"default", "base"});
      const Value fallback = b.get_or(0, Value(0));
      if (v.is_int() || v.is_bool()) return Value(v.as_int());
      if (v.is_float()) return std::isfinite(v.as_double()) ? Value(float_to_int(v.as_double())) : fallback;
      if (v.is_string()) {
        std::string s = py_strip(v.as_string(), std::nullopt, true, true);
        s.erase(std::remove(s.begin(), s.end(), '_'), s.end());
        const int64_t base = b.get_int(1, 10);
        if (base != 0 && (base < 2 || base > 36)) throw std::runtime_error("int() base must be >= 2 and <= 36, or 0");
        try {
          size_t used = 0;
          const int64_t n = std::stoll(s, &used, static_cast<int>(base));
          if (used == s.size()) return Value(n);
        } catch (const std::out_of_range&) {
          integer_overflow("int('" + s.substr(0, 40) + "')");
        } catch (const std::exception&) {
        }
        double d = NAN;
        try {
          size_t used = 0;
          d = std::stod(s, &used);
          if (used != s.size()) d = NAN;
        } catch (const std::exception&) {
        }
        if (std::isfinite(d)) return Value(float_to_int(d));
      }
      return fallback;
    };
    f["float"] = [](Interpreter&, const Value& v, Args& a) {
      BoundArgs b("float", a, {"default"});
      if (v.is_number()) return Value(v.as_double());
      if (v.is_string()) {
        const std::string s = py_strip(v.as_string(), std::nullopt, true, true);
        try {
          size_t used = 0;
          const double d = std::stod(s, &used);
          if (used == s.size()) return Value(d);
        } catch (const std::exception&) {
        }
      }
      return b.get_or(0, Value(0.0));
    };
    f["round"] = [](Interpreter&, const Value& v, Args& a) {
      BoundArgs b("round", a, {"precision", "method"});
      const int64_t p = b.get_int(0, 0);
      const std::string method = b.has(1) ? b[1].str() : "common";
      if (!v.is_number()) throw std::runtime_error("round needs a number");
      if (!v.is_float()) return Value(v.as_int());  // Python: round(int, n) stays an int
      const double scale = std::pow(10.0, static_cast<double>(p));
      if (method == "ceil") return Value(std::ceil(v.as_double() * scale) / scale);
      if (method == "floor") return Value(std::floor(v.as_double() * scale) / scale);
      if (method != "common") throw std::runtime_error("method must be 'common', 'ceil' or 'floor'");
      return Value(python_round(v.as_double(), p));
    };
    f["tojson"] = [](Interpreter&, const Value& v, Args& a) {
      BoundArgs b("tojson", a, {"ensure_ascii", "indent", "separators", "sort_keys"});
      JsonDumpOptions o;
      o.ensure_ascii = b.get_bool(0, false);
      if (b.has(1) && !b[1].is_none()) {
        const size_t width = static_cast<size_t>(std::max<int64_t>(0, b[1].is_string() ? 0 : b.get_int(1, 0)));
        check_string_size(width, "tojson indent");
        o.indent = b[1].is_string() ? b[1].as_string() : std::string(width, ' ');
        o.item_separator = ",";
      }
      if (b.has(2) && !b[2].is_none()) {
        const List seps = iterate(b[2]);
        if (seps.size() != 2) throw std::runtime_error("tojson separators must be a pair");
        o.item_separator = seps[0].str();
        o.key_separator = seps[1].str();
      }
      o.sort_keys = b.get_bool(3, false);
      return Value(to_python_json(v, o));
    };
    f["indent"] = [](Interpreter&, const Value& v, Args& a) {
      BoundArgs b("indent", a, {"width", "first", "blank"});
      const size_t width = b.has(0) && b[0].is_string() ? 0 : static_cast<size_t>(std::max<int64_t>(0, b.get_int(0, 4)));
      check_string_size(width, "indent");
      const std::string indention = b.has(0) && b[0].is_string() ? b[0].as_string() : std::string(width, ' ');
      return Value(do_indent(v.str(), indention, b.get_bool(1, false), b.get_bool(2, false)));
    };
    f["center"] = [](Interpreter&, const Value& v, Args& a) {
      BoundArgs b("center", a, {"width"});
      const std::string s = v.str();
      const int64_t width = b.get_int(0, 80), len = static_cast<int64_t>(tokenizer::utf8_length(s));
      if (width <= len) return Value(s);
      check_string_size(static_cast<size_t>(width - len) + s.size(), "center");
      const int64_t total = width - len, left = total / 2 + (total & width & 1);
      return Value(std::string(static_cast<size_t>(left), ' ') + s + std::string(static_cast<size_t>(total - left), ' '));
    };
    f["truncate"] = [](Interpreter&, const Value& v, Args& a) {
      BoundArgs b("truncate", a, {"length", "killwords", "end", "leeway"});
      const std::u32string cps = to_code_points(v.str());
      const int64_t length = b.get_int(0, 255), leeway = b.get_int(3, 5);
      const std::string end = b.has(2) ? b[2].str() : "...";
      if (static_cast<int64_t>(cps.size()) <= checked_add(length, leeway)) return Value(v.str());
      const size_t keep = static_cast<size_t>(std::max<int64_t>(0, length - static_cast<int64_t>(tokenizer::utf8_length(end))));
      std::string head = from_code_points(cps.substr(0, keep));
      if (!b.get_bool(1, false)) {
        const size_t space = head.rfind(' ');
        if (space != std::string::npos) head = head.substr(0, space);
      }
      return Value(head + end);
    };
    f["format"] = [](Interpreter&, const Value& v, Args& a) {
      if (!a.keyword.empty()) {
        Dict d;
        for (auto& [k, x] : a.keyword) d.set(k, x);
        return Value(percent_format(v.str(), Value(std::move(d))));
      }
      return Value(percent_format(v.str(), Value(a.positional)));
    };
    f["attr"] = [](Interpreter&, const Value& v, Args& a) {
      BoundArgs b("attr", a, {"name"});
      if (auto m = bound_method(v, b[0].str())) return *m;
      if (v.is_namespace()) return python_index(v, b[0]);
      return Value::undefined("object has no attribute '" + b[0].str() + "'");
    };
    f["map"] = [](Interpreter& in, const Value& v, Args& a) {
      List out;
      for (const auto& [k, x] : a.keyword) {
        if (k != "attribute" && k != "default") throw std::runtime_error("map() got an unexpected keyword argument '" + k + "'");
      }
      const Value* attribute = nullptr;
      const Value* fallback = nullptr;
      for (const auto& [k, x] : a.keyword) (k == "attribute" ? attribute : fallback) = &x;
      for (const Value& item : iterate(v)) {
        if (attribute) {
          Value x = get_path(item, *attribute);
          out.push_back(x.is_undefined() && fallback ? *fallback : x);
        } else {
          if (a.positional.empty()) throw std::runtime_error("map() needs a filter name or attribute=");
          Args rest;
          rest.positional.assign(a.positional.begin() + 1, a.positional.end());
          out.push_back(apply_filter(in, a.positional[0].str(), item, rest));
        }
      }
      return Value(std::move(out));
    };
    f["select"] = [](Interpreter& in, const Value& v, Args& a) { return select_items(in, v, a, false, true); };
    f["reject"] = [](Interpreter& in, const Value& v, Args& a) { return select_items(in, v, a, false, false); };
    f["selectattr"] = [](Interpreter& in, const Value& v, Args& a) { return select_items(in, v, a, true, true); };
    f["rejectattr"] = [](Interpreter& in, const Value& v, Args& a) { return select_items(in, v, a, true, false); };
    f["batch"] = [](Interpreter&, const Value& v, Args& a) {
      BoundArgs b("batch", a, {"linecount", "fill_with"});
      const int64_t n = b.get_int(0, 1);
      if (n <= 0) throw std::runtime_error("batch size must be positive");
      check_list_size(static_cast<size_t>(n), "batch");
      List out, cur;
      for (const Value& item : iterate(v)) {
        cur.push_back(item);
        if (static_cast<int64_t>(cur.size()) == n) out.push_back(Value(std::exchange(cur, {})));
      }
      if (!cur.empty()) {
        if (b.has(1)) while (static_cast<int64_t>(cur.size()) < n) cur.push_back(b[1]);
        out.push_back(Value(std::move(cur)));
      }
      return Value(std::move(out));
    };
    f["pprint"] = [](Interpreter&, const Value& v, Args&) { return Value(v.repr()); };
    return f;
  }();
  return table;
}

}  // namespace

bool has_filter(const std::string& name) { return filters().count(name) > 0; }

Value apply_filter(Interpreter& in, const std::string& name, const Value& input, Args& args) {
  auto it = filters().find(name);
  if (it == filters().end()) throw std::runtime_error("no filter named '" + name + "'");
  return it->second(in, input, args);
}

}  // namespace tf::jinja
