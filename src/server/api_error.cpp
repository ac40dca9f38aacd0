#include "server/api_error.h"

#include <nlohmann/json.hpp>

namespace tf::server {

ApiError bad_request(const std::string& message, const std::string& param) {
  return ApiError(400, message, "invalid_request_error", param);
}

nlohmann::json openai_error_body(const ApiError& error) {
  nlohmann::json body = {{"message", error.what()},
                         {"type", error.type},
                         {"param", nullptr},
                         {"code", nullptr}};
  if (!error.param.empty()) body["param"] = error.param;
  if (!error.code.empty()) body["code"] = error.code;
  return {{"error", body}};
}

nlohmann::json anthropic_error_body(const ApiError& error) {
  // Anthropic's type names by status (https://docs.anthropic.com/en/api/errors).
  std::string type = "api_error";
  switch (error.status) {
    case 400: case 413: case 422: type = "invalid_request_error"; break;
    case 401: type = "authentication_error"; break;
    case 403: type = "permission_error"; break;
    case 404: type = "not_found_error"; break;
    case 429: type = "rate_limit_error"; break;
    case 503: type = "overloaded_error"; break;
  }
  if (error.status == 413) type = "request_too_large";
  return {{"type", "error"}, {"error", {{"type", type}, {"message", error.what()}}}};
}

}  // namespace tf::server
