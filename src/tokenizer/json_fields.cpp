#include "tokenizer/json_fields.h"

#include <stdexcept>

namespace tf::tokenizer {

const nlohmann::json& json_field(const nlohmann::json& obj, const char* key, const std::string& where) {
  if (!obj.is_object()) throw std::runtime_error(where + ": expected a JSON object");
  auto it = obj.find(key);
  if (it == obj.end()) throw std::runtime_error(where + ": missing field \"" + key + "\"");
  return *it;
}

std::string json_string(const nlohmann::json& obj, const char* key, const std::string& where) {
  const auto& v = json_field(obj, key, where);
  if (!v.is_string()) throw std::runtime_error(where + ": field \"" + key + "\" must be a string");
  return v.get<std::string>();
}

const nlohmann::json& json_array(const nlohmann::json& obj, const char* key, const std::string& where) {
  const auto& v = json_field(obj, key, where);
  if (!v.is_array()) throw std::runtime_error(where + ": field \"" + key + "\" must be an array");
  return v;
}

const nlohmann::json& json_object(const nlohmann::json& obj, const char* key, const std::string& where) {
  const auto& v = json_field(obj, key, where);
  if (!v.is_object()) throw std::runtime_error(where + ": field \"" + key + "\" must be an object");
  return v;
}

int64_t json_int(const nlohmann::json& obj, const char* key, const std::string& where) {
  const auto& v = json_field(obj, key, where);
  if (!v.is_number_integer()) throw std::runtime_error(where + ": field \"" + key + "\" must be an integer");
  return v.get<int64_t>();
}

bool json_bool_or(const nlohmann::json& obj, const char* key, bool fallback, const std::string& where) {
  if (!obj.is_object()) throw std::runtime_error(where + ": expected a JSON object");
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return fallback;
  if (!it->is_boolean()) throw std::runtime_error(where + ": field \"" + key + "\" must be true or false");
  return it->get<bool>();
}

JsonPattern json_pattern(const nlohmann::json& obj, const std::string& where) {
  const auto& p = json_object(obj, "pattern", where);
  if (auto it = p.find("Regex"); it != p.end() && it->is_string()) return {true, it->get<std::string>()};
  if (auto it = p.find("String"); it != p.end() && it->is_string()) return {false, it->get<std::string>()};
  throw std::runtime_error(where + ": \"pattern\" must be {\"String\": ...} or {\"Regex\": ...}");
}

}  // namespace tf::tokenizer
