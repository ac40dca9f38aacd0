// A client's request read into what the engine runs (tightfit::Request) and what the response
// writer needs to know about it (streaming, usage chunk, tools for the tool-call parser).
// One parser per API: OpenAI chat (chat_request.cpp), OpenAI completions
// (completion_request.cpp), Anthropic messages (anthropic_request.cpp).
#pragma once

#include "server/json_fields.h"
#include "server/server_options.h"
#include "tightfit/tightfit.h"

namespace tf::server {

struct ParsedRequest {
  tightfit::Request request;
  bool stream = false;
  bool include_usage = false;   // stream_options.include_usage
  bool logprobs = false;        // the response carries logprobs
  // OpenAI tool definitions ([{type, function: {name, parameters}}]) for parsing the model's
  // tool calls; an empty array when the request gave none (tool calls are then left as text).
  Json tools = Json::array();
};

// POST /v1/chat/completions. Throws a 400 ApiError for anything malformed.
ParsedRequest parse_chat_request(const Json& body, const ServerOptions& options);
// POST /v1/completions.
ParsedRequest parse_completion_request(const Json& body, const ServerOptions& options);
// POST /v1/messages (Anthropic).
ParsedRequest parse_anthropic_request(const Json& body, const ServerOptions& options);

// Tool definitions: an array of {type: "function", function: {name, ...}}; 400 otherwise.
void check_tools(const Json& tools, const std::string& param);
// A tool call's arguments (a JSON object, as text or as an object) as JSON text; 400 otherwise.
std::string tool_arguments_text(const Json& arguments, const std::string& param);

}  // namespace tf::server
