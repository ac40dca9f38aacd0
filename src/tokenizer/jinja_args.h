// Binds template call arguments to a Python-style signature (positional or keyword), with
// Python's error messages for unexpected or surplus arguments.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "tokenizer/jinja_value.h"

namespace tf::jinja {

class BoundArgs {
 public:
  BoundArgs(const std::string& function, const Args& args, std::vector<std::string> params)
      : values_(params.size()), given_(params.size(), false) {
    if (args.positional.size() > params.size())
      throw std::runtime_error(function + "() takes at most " + std::to_string(params.size()) +
                               " argument(s) (" + std::to_string(args.positional.size()) + " given)");
    for (size_t i = 0; i < args.positional.size(); ++i) {
      values_[i] = args.positional[i];
      given_[i] = true;
    }
    for (const auto& [key, value] : args.keyword) {
      size_t i = 0;
      while (i < params.size() && params[i] != key) ++i;
      if (i == params.size()) throw std::runtime_error(function + "() got an unexpected keyword argument '" + key + "'");
      if (given_[i]) throw std::runtime_error(function + "() got multiple values for argument '" + key + "'");
      values_[i] = value;
      given_[i] = true;
    }
  }

  bool has(size_t i) const { return given_[i] && !values_[i].is_undefined(); }
  const Value& operator[](size_t i) const { return values_[i]; }
  Value get_or(size_t i, Value fallback) const { return has(i) ? values_[i] : std::move(fallback); }
  bool get_bool(size_t i, bool fallback) const { return has(i) ? values_[i].truthy() : fallback; }
  int64_t get_int(size_t i, int64_t fallback) const {
    if (!has(i)) return fallback;
    if (!values_[i].is_int() && !values_[i].is_bool()) throw std::runtime_error("expected an integer argument, got " + values_[i].type_name());
    return values_[i].as_int();
  }
  std::optional<std::string> get_string(size_t i) const {
    if (!has(i) || values_[i].is_none()) return std::nullopt;
    return values_[i].str();
  }

 private:
  std::vector<Value> values_;
  std::vector<bool> given_;
};

}  // namespace tf::jinja
