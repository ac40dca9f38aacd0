// Typed reads of the fields of a client's JSON body. A field that is absent (or null) is unset;
// one of the wrong type is a 400 naming it (`param`), never a silent default. Unknown fields are
// simply never read, which is how OpenAI-compatible servers ignore them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace tf::server {

using Json = nlohmann::json;

// The field, or nullptr when absent or null. `object` must be an object.
const Json* find_field(const Json& object, const char* key);

std::optional<double> number_field(const Json& object, const char* key, const std::string& param);
// Integers only (2.0 is accepted, 2.5 is not), within [min, max].
std::optional<int64_t> integer_field(const Json& object, const char* key, const std::string& param,
                                     int64_t min = INT64_MIN, int64_t max = INT64_MAX);
std::optional<bool> bool_field(const Json& object, const char* key, const std::string& param);
std::optional<std::string> string_field(const Json& object, const char* key,
                                        const std::string& param);
// An object field (nullptr when absent): a 400 when it is anything else.
const Json* object_field(const Json& object, const char* key, const std::string& param);
const Json* array_field(const Json& object, const char* key, const std::string& param);

// "messages[3].content": a param path for error messages.
std::string param_path(const std::string& parent, const std::string& child);
std::string param_index(const std::string& parent, size_t index);

}  // namespace tf::server
