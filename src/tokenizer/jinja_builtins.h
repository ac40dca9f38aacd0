// The filters, tests, global functions and str/dict methods available to templates: Jinja2's
// built-ins plus the globals transformers adds (raise_exception, strftime_now) and its tojson.
#pragma once

#include <optional>
#include <string>

#include "tokenizer/jinja_value.h"

namespace tf::jinja {

bool has_filter(const std::string& name);
bool has_test(const std::string& name);

Value apply_filter(Interpreter& in, const std::string& name, const Value& input, Args& args);
bool apply_test(Interpreter& in, const std::string& name, const Value& input, Args& args);

// Global functions (range, namespace, dict, raise_exception, strftime_now, ...).
const Dict& builtin_globals();

// `object.name` for str, list and dict: a bound method, or nullopt if the type has none by
// that name. Mutating methods throw (the sandbox transformers uses forbids them).
std::optional<Value> bound_method(const Value& object, const std::string& name);

// Helpers shared by filters and the interpreter.
Value python_index(const Value& container, const Value& index);  // obj[i]; undefined if absent
size_t python_len(const Value& v);                               // len(); throws for scalars
List iterate(const Value& v);                                    // for x in v
Value python_slice(const Value& v, const Value& start, const Value& stop, const Value& step);
std::string percent_format(const std::string& format, const Value& args);  // "..." % args

}  // namespace tf::jinja
