#include "server/request_fields.h"

#include <climits>

#include "base/json_read.h"
#include "server/api_error.h"

namespace tf::server {

Json merge_extra_body(const Json& body) {
  const Json* extra = object_field(body, "extra_body", "extra_body");
  if (!extra) return body;
  Json merged = body;
  for (const auto& [key, value] : extra->items()) merged[key] = value;
  merged.erase("extra_body");
  return merged;
}

namespace {

std::optional<float> ranged(const Json& body, const char* key, double min, double max,
                            std::optional<float> fallback) {
  const std::optional<double> value = number_field(body, key, key);
  if (!value) return fallback;
  if (*value < min || *value > max)
    throw bad_request(std::string("'") + key + "' must be between " + std::to_string(min) +
                          " and " + std::to_string(max),
                      key);
  return static_cast<float>(*value);
}

}  // namespace

void read_sampling(const Json& body, const RequestDefaults& defaults,
                   tightfit::SamplingParams& sampling) {
  const tightfit::SamplingParams& d = defaults.sampling;
  sampling.temperature = ranged(body, "temperature", 0, 100, d.temperature);
  sampling.top_p = ranged(body, "top_p", 0, 1, d.top_p);
  sampling.min_p = ranged(body, "min_p", 0, 1, d.min_p);
  sampling.presence_penalty = ranged(body, "presence_penalty", -2, 2, d.presence_penalty);
  sampling.frequency_penalty = ranged(body, "frequency_penalty", -2, 2, d.frequency_penalty);
  sampling.repetition_penalty = ranged(body, "repetition_penalty", 0.01, 100, d.repetition_penalty);
  // top_k: -1 and 0 both mean "off" in the servers clients know (vLLM, llama-server).
  if (auto top_k = integer_field(body, "top_k", "top_k", -1, INT_MAX))
    sampling.top_k = static_cast<int>(*top_k < 0 ? 0 : *top_k);
  else
    sampling.top_k = d.top_k;
  if (auto seed = integer_field(body, "seed", "seed"))
    sampling.seed = static_cast<uint64_t>(*seed);
  else
    sampling.seed = d.seed;
  sampling.logit_bias = d.logit_bias;
  if (const Json* bias = object_field(body, "logit_bias", "logit_bias")) {
    for (const auto& [key, value] : bias->items()) {
      const std::string param = "logit_bias." + key;
      int64_t token = -1;
      try {
        size_t used = 0;
        token = std::stoll(key, &used);
        if (used != key.size()) token = -1;
      } catch (const std::exception&) {
      }
      if (token < 0 || token > INT32_MAX)
        throw bad_request("'logit_bias' keys must be token ids, not '" + key + "'", param);
      if (!value.is_number()) throw bad_request("'" + param + "' must be a number", param);
      const double b = value.get<double>();
      if (!(b >= -100 && b <= 100)) throw bad_request("'" + param + "' must be in [-100, 100]", param);
      sampling.logit_bias.emplace_back(static_cast<int32_t>(token), static_cast<float>(b));
    }
  }
}

std::vector<std::string> read_stop(const Json& body, const char* key) {
  std::vector<std::string> stop;
  const Json* value = find_field(body, key);
  if (!value) return stop;
  if (value->is_string()) {
    stop.push_back(value->get<std::string>());
  } else if (value->is_array()) {
    for (size_t i = 0; i < value->size(); ++i) {
      if (!(*value)[i].is_string())
        throw bad_request(std::string("'") + key + "' must hold strings", param_index(key, i));
      stop.push_back((*value)[i].get<std::string>());
    }
  } else {
    throw bad_request(std::string("'") + key + "' must be a string or an array of strings", key);
  }
  for (const std::string& s : stop)
    if (s.empty()) throw bad_request(std::string("'") + key + "' holds an empty string", key);
  return stop;
}

bool read_ignore_eos(const Json& body) {
  return bool_field(body, "ignore_eos", "ignore_eos").value_or(false);
}

std::optional<int> read_draft_tokens(const Json& body) {
  if (auto k = integer_field(body, "draft_tokens", "draft_tokens", 0, INT_MAX))
    return static_cast<int>(*k);  // the engine refuses too many, naming its limit
  return std::nullopt;
}

std::optional<int> read_max_tokens(const Json& body, const RequestDefaults& defaults) {
  for (const char* key : {"max_completion_tokens", "max_tokens"}) {
    if (auto value = integer_field(body, key, key, 1, INT_MAX)) return static_cast<int>(*value);
  }
  return defaults.max_tokens;
}

void read_template_inputs(const Json& body, const RequestDefaults& defaults,
                          tightfit::Request& request) {
  Json kwargs = defaults.template_kwargs;
  if (const Json* given = object_field(body, "chat_template_kwargs", "chat_template_kwargs")) {
    check_json_value_nesting(*given, "chat_template_kwargs");
    for (const auto& [key, value] : given->items()) kwargs[key] = value;
  }
  if (const Json* top_level = find_field(body, "enable_thinking")) kwargs["enable_thinking"] = *top_level;
  if (auto it = kwargs.find("enable_thinking"); it != kwargs.end()) {
    if (!it->is_boolean())
      throw bad_request("'chat_template_kwargs.enable_thinking' must be a boolean",
                        "chat_template_kwargs.enable_thinking");
    request.enable_thinking = it->get<bool>();
    kwargs.erase(it);
  }
  request.template_kwargs = kwargs.empty() ? std::string() : kwargs.dump();
  if (auto budget = integer_field(body, "thinking_budget", "thinking_budget", -1, INT_MAX))
    request.thinking_budget = *budget < 0 ? std::nullopt : std::optional<int>(static_cast<int>(*budget));
  else
    request.thinking_budget = defaults.thinking_budget;
}

void check_unsupported(const Json& body) {
  if (auto n = integer_field(body, "n", "n", 1, INT_MAX); n && *n != 1)
    throw bad_request("'n' must be 1: one choice per request is supported", "n");
}

void read_response_format(const Json& body, tightfit::Request& request) {
  const Json* format = object_field(body, "response_format", "response_format");
  if (!format) return;
  using Type = tightfit::ResponseFormat::Type;
  const std::string type = string_field(*format, "type", "response_format.type").value_or("text");
  if (type == "text") {
    request.response_format.type = Type::text;
  } else if (type == "json_object") {
    request.response_format.type = Type::json_object;
  } else if (type == "json_schema") {
    const Json* spec = object_field(*format, "json_schema", "response_format.json_schema");
    const Json* schema = spec ? find_field(*spec, "schema") : nullptr;
    if (!schema || !(schema->is_object() || schema->is_boolean()))
      throw bad_request("response_format.json_schema.schema must be a JSON Schema object",
                        "response_format.json_schema.schema");
    check_json_value_nesting(*schema, "response_format.json_schema.schema");
    request.response_format.type = Type::json_schema;
    request.response_format.schema = schema->dump();
  } else {
    throw bad_request("response_format.type must be 'text', 'json_object' or 'json_schema', not '" +
                          type + "'",
                      "response_format.type");
  }
}

}  // namespace tf::server
