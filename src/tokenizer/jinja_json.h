// JSON <-> template values. to_python_json reproduces Python's json.dumps (what transformers'
// `tojson` filter calls: ensure_ascii=False, separators ", " and ": " unless indenting, float
// repr, NaN/Infinity), so tool schemas render byte-identical to Hugging Face.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "tokenizer/jinja_value.h"

namespace tf::jinja {

// Objects keep their key order when given an ordered_json (use it for messages and tools).
Value value_from_json(const nlohmann::ordered_json& j);

struct JsonDumpOptions {
  std::optional<std::string> indent;  // unset = one line; else the per-level indent string
  std::string item_separator = ", ";
  std::string key_separator = ": ";
  bool sort_keys = false;
  bool ensure_ascii = false;
};

// Throws std::runtime_error("Object of type X is not JSON serializable") for undefined,
// functions and namespaces.
std::string to_python_json(const Value& v, const JsonDumpOptions& options);

}  // namespace tf::jinja
