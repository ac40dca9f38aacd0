#include "tokenizer/jinja_value.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <stdexcept>

#include <unicode/uchar.h>

#include "tokenizer/jinja_limits.h"
#include "tokenizer/utf8.h"

namespace tf::jinja {

const Value* Dict::find(std::string_view key) const {
  auto it = index_.find(std::string(key));
  return it == index_.end() ? nullptr : &entries_[it->second].second;
}

Value* Dict::find(std::string_view key) {
  auto it = index_.find(std::string(key));
  return it == index_.end() ? nullptr : &entries_[it->second].second;
}

void Dict::set(const std::string& key, Value value) {
  auto it = index_.find(key);
  if (it != index_.end()) {
    entries_[it->second].second = std::move(value);
  } else {
    index_.emplace(key, entries_.size());
    entries_.emplace_back(key, std::move(value));
  }
}

size_t Dict::size() const { return entries_.size(); }
bool Dict::empty() const { return entries_.empty(); }

namespace {

int checked_nesting(int inner) {
  if (inner + 1 > TemplateLimits::kValueNesting)
    throw std::runtime_error("lists, dicts and namespaces nested deeper than " +
                             std::to_string(TemplateLimits::kValueNesting) + " levels");
  return inner + 1;
}

}  // namespace

std::shared_ptr<Value::Sequence> Value::make_sequence(List items, bool tuple) {
  int inner = 0;
  for (const Value& v : items) inner = std::max(inner, v.nesting());
  const int nesting = checked_nesting(inner);
  return std::make_shared<Sequence>(Sequence{std::move(items), tuple, nesting});
}

Value::Value(List l) : data_(make_sequence(std::move(l), false)) {}

Value::Value(Dict d) {
  int inner = 0;
  for (const auto& [k, v] : d.entries()) inner = std::max(inner, v.nesting());
  d.nesting_ = checked_nesting(inner);
  data_ = std::make_shared<Dict>(std::move(d));
}

Value Value::tuple(List items) {
  Value v;
  v.data_ = make_sequence(std::move(items), true);
  return v;
}

int Value::nesting() const {
  switch (kind()) {
    case Kind::kList: return std::get<std::shared_ptr<Sequence>>(data_)->nesting;
    case Kind::kDict: return as_dict().nesting_;
    case Kind::kNamespace: {
      int inner = 0;
      for (const auto& [k, v] : as_namespace().attributes.entries()) inner = std::max(inner, v.nesting());
      return inner + 1;
    }
    default: return 0;
  }
}

bool Value::holds_namespace() const {
  switch (kind()) {
    case Kind::kNamespace: return true;
    case Kind::kList:
      return std::any_of(as_list().begin(), as_list().end(), [](const Value& v) { return v.holds_namespace(); });
    case Kind::kDict:
      return std::any_of(as_dict().entries().begin(), as_dict().entries().end(),
                         [](const auto& e) { return e.second.holds_namespace(); });
    default: return false;
  }
}

void check_namespace_attribute(const std::string& name, const Value& value) {
  // Lists and dicts cannot change once built; namespaces can, so one holding another could
  // come to hold itself (or a chain of any depth) after the checks ran.
  if (value.holds_namespace())
    throw std::runtime_error("namespace attribute '" + name + "' cannot hold a namespace (tightfit's limit)");
  checked_nesting(value.nesting());
}

Value Value::make_namespace(Dict attributes) {
  for (const auto& [k, x] : attributes.entries()) check_namespace_attribute(k, x);
  Value v;
  v.data_ = std::make_shared<Namespace>(Namespace{std::move(attributes)});
  return v;
}

Value Value::function(std::string name, std::function<Value(Interpreter&, Args&)> call) {
  Value v;
  v.data_ = std::make_shared<Function>(Function{std::move(name), std::move(call)});
  return v;
}

int64_t Value::as_int() const {
  if (is_bool()) return as_bool() ? 1 : 0;
  return std::get<int64_t>(data_);
}

double Value::as_double() const {
  if (is_float()) return std::get<double>(data_);
  return static_cast<double>(as_int());
}

bool Value::truthy() const {
  switch (kind()) {
    case Kind::kUndefined:
    case Kind::kNone: return false;
    case Kind::kBool: return as_bool();
    case Kind::kInt: return as_int() != 0;
    case Kind::kFloat: return as_double() != 0.0;
    case Kind::kString: return !as_string().empty();
    case Kind::kList: return !as_list().empty();
    case Kind::kDict: return !as_dict().empty();
    case Kind::kNamespace:
    case Kind::kFunction: return true;
  }
  return false;
}

std::string python_float_repr(double x) {
  if (std::isnan(x)) return "nan";
  if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), x, std::chars_format::scientific);
  std::string sci(buf, res.ptr);  // "-d.ddde+XX": shortest digits that round-trip
  const bool negative = sci[0] == '-';
  if (negative) sci.erase(0, 1);
  const size_t e_pos = sci.find('e');
  const int exponent = std::stoi(sci.substr(e_pos + 1));
  std::string digits = sci.substr(0, e_pos);
  digits.erase(std::remove(digits.begin(), digits.end(), '.'), digits.end());
  std::string out = negative ? "-" : "";
  if (exponent < -4 || exponent >= 16) {
    out += digits[0];
    if (digits.size() > 1) out += "." + digits.substr(1);
    char exp_buf[16];
    std::snprintf(exp_buf, sizeof(exp_buf), "e%c%02d", exponent < 0 ? '-' : '+', std::abs(exponent));
    return out + exp_buf;
  }
  if (exponent < 0) return out + "0." + std::string(static_cast<size_t>(-exponent - 1), '0') + digits;
  const size_t int_digits = static_cast<size_t>(exponent) + 1;
  if (digits.size() <= int_digits) return out + digits + std::string(int_digits - digits.size(), '0') + ".0";
  return out + digits.substr(0, int_digits) + "." + digits.substr(int_digits);
}

namespace {

// Python's str.isprintable for one code point.
bool python_printable(char32_t c) {
  if (c == ' ') return true;
  switch (u_charType(static_cast<UChar32>(c))) {
    case U_CONTROL_CHAR: case U_FORMAT_CHAR: case U_SURROGATE: case U_PRIVATE_USE_CHAR:
    case U_UNASSIGNED: case U_LINE_SEPARATOR: case U_PARAGRAPH_SEPARATOR: case U_SPACE_SEPARATOR:
      return false;
    default:
      return true;
  }
}

}  // namespace

std::string python_string_repr(std::string_view s) {
  const bool has_single = s.find('\'') != std::string_view::npos;
  const bool has_double = s.find('"') != std::string_view::npos;
  const char quote = has_single && !has_double ? '"' : '\'';
  std::string out(1, quote);
  for (size_t i = 0; i < s.size();) {
    size_t n = tokenizer::utf8_valid_length(s, i);
    if (n == 0) {  // not reachable for valid strings; show the byte
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", static_cast<unsigned char>(s[i]));
      out += buf;
      ++i;
      continue;
    }
    size_t len = 0;
    const char32_t c = tokenizer::utf8_decode_at(s, i, &len);
    if (c == static_cast<char32_t>(quote) || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7F || (c >= 0x80 && !python_printable(c))) {
      char buf[16];
      if (c <= 0xFF) std::snprintf(buf, sizeof(buf), "\\x%02x", static_cast<unsigned>(c));
      else if (c <= 0xFFFF) std::snprintf(buf, sizeof(buf), "\\u%04x", static_cast<unsigned>(c));
      else std::snprintf(buf, sizeof(buf), "\\U%08x", static_cast<unsigned>(c));
      out += buf;
    } else {
      out.append(s.substr(i, n));
    }
    i += n;
  }
  out += quote;
  return out;
}

std::string Value::str() const {
  switch (kind()) {
    case Kind::kUndefined: return "";
    case Kind::kString: return as_string();
    default: return repr();
  }
}

std::string Value::repr() const {
  switch (kind()) {
    case Kind::kUndefined: return "Undefined";
    case Kind::kNone: return "None";
    case Kind::kBool: return as_bool() ? "True" : "False";
    case Kind::kInt: return std::to_string(as_int());
    case Kind::kFloat: return python_float_repr(as_double());
    case Kind::kString: return python_string_repr(as_string());
    case Kind::kList: {
      std::string out = is_tuple() ? "(" : "[";
      bool first = true;
      for (const Value& v : as_list()) {
        if (!first) out += ", ";
        first = false;
        out += v.repr();
      }
      if (is_tuple()) return out + (as_list().size() == 1 ? ",)" : ")");
      return out + "]";
    }
    case Kind::kDict: {
      std::string out = "{";
      bool first = true;
      for (const auto& [k, v] : as_dict().entries()) {
        if (!first) out += ", ";
        first = false;
        out += python_string_repr(k) + ": " + v.repr();
      }
      return out + "}";
    }
    case Kind::kNamespace: {
      std::string out = "<Namespace {";
      bool first = true;
      for (const auto& [k, v] : as_namespace().attributes.entries()) {
        if (!first) out += ", ";
        first = false;
        out += python_string_repr(k) + ": " + v.repr();
      }
      return out + "}>";
    }
    case Kind::kFunction: return "<function " + as_function().name + ">";
  }
  return "";
}

std::string Value::type_name() const {
  switch (kind()) {
    case Kind::kUndefined: return "Undefined";
    case Kind::kNone: return "NoneType";
    case Kind::kBool: return "bool";
    case Kind::kInt: return "int";
    case Kind::kFloat: return "float";
    case Kind::kString: return "str";
    case Kind::kList: return is_tuple() ? "tuple" : "list";
    case Kind::kDict: return "dict";
    case Kind::kNamespace: return "Namespace";
    case Kind::kFunction: return "function";
  }
  return "object";
}

bool Value::same_as(const Value& o) const {
  if (kind() != o.kind()) return false;
  switch (kind()) {
    case Kind::kList: return &as_list() == &o.as_list();  // same Sequence object
    case Kind::kDict: return &as_dict() == &o.as_dict();
    case Kind::kNamespace: return &as_namespace() == &o.as_namespace();
    case Kind::kFunction: return &as_function() == &o.as_function();
    default: return values_equal(*this, o);
  }
}

bool values_equal(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.is_float() || b.is_float()) return a.as_double() == b.as_double();
    return a.as_int() == b.as_int();
  }
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case Value::Kind::kUndefined:
    case Value::Kind::kNone: return true;
    case Value::Kind::kString: return a.as_string() == b.as_string();
    case Value::Kind::kList: {
      const List &x = a.as_list(), &y = b.as_list();
      if (a.is_tuple() != b.is_tuple() || x.size() != y.size()) return false;  // (1,) != [1]
      for (size_t i = 0; i < x.size(); ++i)
        if (!values_equal(x[i], y[i])) return false;
      return true;
    }
    case Value::Kind::kDict: {
      const Dict &x = a.as_dict(), &y = b.as_dict();
      if (x.size() != y.size()) return false;
      for (const auto& [k, v] : x.entries()) {
        const Value* w = y.find(k);
        if (!w || !values_equal(v, *w)) return false;
      }
      return true;
    }
    default: return a.same_as(b);
  }
}

int compare_values(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.is_float() || b.is_float()) {
      const double x = a.as_double(), y = b.as_double();
      return x < y ? -1 : x > y ? 1 : 0;
    }
    const int64_t x = a.as_int(), y = b.as_int();
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (a.is_string() && b.is_string()) {
    const int c = a.as_string().compare(b.as_string());  // UTF-8 byte order = code point order
    return c < 0 ? -1 : c > 0 ? 1 : 0;
  }
  if (a.is_list() && b.is_list()) {
    const List &x = a.as_list(), &y = b.as_list();
    for (size_t i = 0; i < x.size() && i < y.size(); ++i)
      if (const int c = compare_values(x[i], y[i]); c != 0) return c;
    return x.size() < y.size() ? -1 : x.size() > y.size() ? 1 : 0;
  }
  throw std::runtime_error("'<' not supported between instances of '" + a.type_name() + "' and '" +
                           b.type_name() + "'");
}

}  // namespace tf::jinja
