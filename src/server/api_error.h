// The one error type of the server's request handling: an HTTP status plus the fields of
// OpenAI's error object (https://platform.openai.com/docs/guides/error-codes), written in
// OpenAI's shape on the /v1/chat|completions routes and in Anthropic's on /v1/messages
// (https://docs.anthropic.com/en/api/errors). Every refusal a client can act on is one of these;
// the server answers it and keeps serving.
#pragma once

#include <stdexcept>
#include <string>

#include <nlohmann/json_fwd.hpp>

namespace tf::server {

struct ApiError : std::runtime_error {
  ApiError(int status, const std::string& message, std::string type, std::string param = {},
           std::string code = {})
      : std::runtime_error(message),
        status(status),
        type(std::move(type)),
        param(std::move(param)),
        code(std::move(code)) {}
  int status;
  std::string type;   // "invalid_request_error", "authentication_error", ...
  std::string param;  // the offending field ("messages[1].role"), empty when none
  std::string code;   // a machine-readable code, empty when none
};

// 400 invalid_request_error naming `param`.
ApiError bad_request(const std::string& message, const std::string& param = {});

// {"error": {"message", "type", "param", "code"}}; param and code are null when empty.
nlohmann::json openai_error_body(const ApiError& error);
// {"type": "error", "error": {"type", "message"}} with Anthropic's type names.
nlohmann::json anthropic_error_body(const ApiError& error);

}  // namespace tf::server
