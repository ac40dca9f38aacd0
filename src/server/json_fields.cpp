#include "server/json_fields.h"

#include <cmath>

#include "server/api_error.h"

namespace tf::server {
namespace {

const char* type_name(const Json& value) {
  switch (value.type()) {
    case Json::value_t::object: return "an object";
    case Json::value_t::array: return "an array";
    case Json::value_t::string: return "a string";
    case Json::value_t::boolean: return "a boolean";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
    case Json::value_t::number_float: return "a number";
    default: return "null";
  }
}

[[noreturn]] void wrong_type(const Json& value, const std::string& param, const char* expected) {
  throw bad_request("'" + param + "' must be " + expected + ", not " + type_name(value), param);
}

}  // namespace

const Json* find_field(const Json& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

std::optional<double> number_field(const Json& object, const char* key, const std::string& param) {
  const Json* value = find_field(object, key);
  if (!value) return std::nullopt;
  if (!value->is_number()) wrong_type(*value, param, "a number");
  const double number = value->get<double>();
  if (!std::isfinite(number)) throw bad_request("'" + param + "' must be finite", param);
  return number;
}

std::optional<int64_t> integer_field(const Json& object, const char* key, const std::string& param,
                                     int64_t min, int64_t max) {
  const Json* value = find_field(object, key);
  if (!value) return std::nullopt;
  if (!value->is_number()) wrong_type(*value, param, "an integer");
  int64_t integer = 0;
  if (value->is_number_unsigned()) {
    const uint64_t u = value->get<uint64_t>();
    if (u > static_cast<uint64_t>(INT64_MAX)) throw bad_request("'" + param + "' is too large", param);
    integer = static_cast<int64_t>(u);
  } else if (value->is_number_integer()) {
    integer = value->get<int64_t>();
  } else {
    const double d = value->get<double>();
    if (!std::isfinite(d) || d != std::floor(d) || std::fabs(d) > 9.0e15)
      throw bad_request("'" + param + "' must be an integer", param);
    integer = static_cast<int64_t>(d);
  }
  if (integer < min || integer > max)
    throw bad_request("'" + param + "' must be between " + std::to_string(min) + " and " +
                          std::to_string(max) + ", not " + std::to_string(integer),
                      param);
  return integer;
}

std::optional<bool> bool_field(const Json& object, const char* key, const std::string& param) {
  const Json* value = find_field(object, key);
  if (!value) return std::nullopt;
  if (!value->is_boolean()) wrong_type(*value, param, "a boolean");
  return value->get<bool>();
}

std::optional<std::string> string_field(const Json& object, const char* key,
                                        const std::string& param) {
  const Json* value = find_field(object, key);
  if (!value) return std::nullopt;
  if (!value->is_string()) wrong_type(*value, param, "a string");
  return value->get<std::string>();
}

const Json* object_field(const Json& object, const char* key, const std::string& param) {
  const Json* value = find_field(object, key);
  if (value && !value->is_object()) wrong_type(*value, param, "an object");
  return value;
}

const Json* array_field(const Json& object, const char* key, const std::string& param) {
  const Json* value = find_field(object, key);
  if (value && !value->is_array()) wrong_type(*value, param, "an array");
  return value;
}

std::string param_path(const std::string& parent, const std::string& child) {
  return parent.empty() ? child : parent + "." + child;
}

std::string param_index(const std::string& parent, size_t index) {
  return parent + "[" + std::to_string(index) + "]";
}

}  // namespace tf::server
