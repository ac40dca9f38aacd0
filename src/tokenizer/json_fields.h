// Checked access to tokenizer.json fields: every failure names the field and where it was
// expected, so a malformed file gives an actionable message instead of a JSON library error.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace tf::tokenizer {

const nlohmann::json& json_field(const nlohmann::json& obj, const char* key, const std::string& where);
std::string json_string(const nlohmann::json& obj, const char* key, const std::string& where);
const nlohmann::json& json_array(const nlohmann::json& obj, const char* key, const std::string& where);
const nlohmann::json& json_object(const nlohmann::json& obj, const char* key, const std::string& where);
int64_t json_int(const nlohmann::json& obj, const char* key, const std::string& where);
// A boolean field that may be absent (then `fallback`), but must be a boolean if present.
bool json_bool_or(const nlohmann::json& obj, const char* key, bool fallback, const std::string& where);

// A "pattern" field: {"String": "..."} or {"Regex": "..."}.
struct JsonPattern {
  bool is_regex = false;
  std::string text;
};
JsonPattern json_pattern(const nlohmann::json& obj, const std::string& where);

}  // namespace tf::tokenizer
