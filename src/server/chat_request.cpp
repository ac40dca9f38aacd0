// OpenAI's chat completions request (https://platform.openai.com/docs/api-reference/chat/create)
// → tightfit::Request.
#include <string>

#include "base/json_read.h"
#include "server/api_error.h"
#include "server/image_source.h"
#include "server/parsed_request.h"
#include "server/request_fields.h"

namespace tf::server {
namespace {

using tightfit::ContentPart;
using tightfit::Message;

// content: a string, or an array of parts {type: "text", text} / {type: "image_url",
// image_url: {url} | url}. Images only in user messages.
std::vector<ContentPart> read_content(const Json& message, const std::string& param,
                                      bool images_allowed, const ImagePolicy& images) {
  std::vector<ContentPart> parts;
  const Json* content = find_field(message, "content");
  if (!content) return parts;
  if (content->is_string()) {
    parts.push_back({ContentPart::Kind::text, content->get<std::string>(), {}});
    return parts;
  }
  if (!content->is_array())
    throw bad_request("'" + param + "' must be a string or an array of content parts", param);
  for (size_t i = 0; i < content->size(); ++i) {
    const Json& part = (*content)[i];
    const std::string part_param = param_index(param, i);
    if (!part.is_object()) throw bad_request("'" + part_param + "' must be an object", part_param);
    const std::string type =
        string_field(part, "type", param_path(part_param, "type")).value_or("");
    if (type == "text" || type == "input_text") {
      auto text = string_field(part, "text", param_path(part_param, "text"));
      if (!text) throw bad_request("'" + part_param + ".text' is required", part_param + ".text");
      parts.push_back({ContentPart::Kind::text, *text, {}});
    } else if (type == "image_url") {
      const std::string url_param = param_path(part_param, "image_url");
      if (!images_allowed)
        throw bad_request("images are only accepted in user messages", url_param);
      const Json* image_url = find_field(part, "image_url");
      std::string url;
      if (image_url && image_url->is_string()) {
        url = image_url->get<std::string>();
      } else if (image_url && image_url->is_object()) {
        url = string_field(*image_url, "url", url_param + ".url").value_or("");
      }
      if (url.empty()) throw bad_request("'" + url_param + ".url' is required", url_param + ".url");
      parts.push_back({ContentPart::Kind::image, {}, image_from_url(url, images, url_param)});
    } else {
      throw bad_request("content part type '" + type +
                            "' is not supported (use 'text' or 'image_url')",
                        param_path(part_param, "type"));
    }
  }
  return parts;
}

std::vector<tightfit::ToolCall> read_tool_calls(const Json& message, const std::string& param) {
  std::vector<tightfit::ToolCall> calls;
  const Json* list = array_field(message, "tool_calls", param);
  if (!list) return calls;
  for (size_t i = 0; i < list->size(); ++i) {
    const Json& call = (*list)[i];
    const std::string call_param = param_index(param, i);
    if (!call.is_object()) throw bad_request("'" + call_param + "' must be an object", call_param);
    const Json* function = object_field(call, "function", call_param + ".function");
    if (!function) throw bad_request("'" + call_param + ".function' is required", call_param + ".function");
    tightfit::ToolCall out;
    out.id = string_field(call, "id", call_param + ".id").value_or("");
    out.name = string_field(*function, "name", call_param + ".function.name").value_or("");
    if (out.name.empty())
      throw bad_request("'" + call_param + ".function.name' is required", call_param + ".function.name");
    const Json* arguments = find_field(*function, "arguments");
    out.arguments = arguments ? tool_arguments_text(*arguments, call_param + ".function.arguments")
                              : "{}";
    calls.push_back(std::move(out));
  }
  return calls;
}

Message read_message(const Json& json, const std::string& param, const ImagePolicy& images) {
  if (!json.is_object()) throw bad_request("'" + param + "' must be an object", param);
  const std::string role_param = param + ".role";
  const std::optional<std::string> role = string_field(json, "role", role_param);
  if (!role) throw bad_request("'" + role_param + "' is required", role_param);
  Message message;
  message.role = *role == "developer" ? "system" : *role;
  if (message.role != "system" && message.role != "user" && message.role != "assistant" &&
      message.role != "tool")
    throw bad_request("unknown role '" + *role +
                          "': use 'system', 'developer', 'user', 'assistant' or 'tool'",
                      role_param);
  message.content = read_content(json, param + ".content", message.role == "user", images);
  if (message.role == "assistant") {
    message.tool_calls = read_tool_calls(json, param + ".tool_calls");
    message.reasoning = string_field(json, "reasoning_content", param + ".reasoning_content")
                            .value_or(string_field(json, "reasoning", param + ".reasoning").value_or(""));
  }
  if (message.role == "tool") {
    message.tool_call_id = string_field(json, "tool_call_id", param + ".tool_call_id").value_or("");
    message.name = string_field(json, "name", param + ".name").value_or("");
  }
  if (message.role != "assistant" && !find_field(json, "content"))
    throw bad_request("'" + param + ".content' is required", param + ".content");
  return message;
}

}  // namespace

void check_tools(const Json& tools, const std::string& param) {
  if (!tools.is_array()) throw bad_request("'" + param + "' must be an array", param);
  check_json_value_nesting(tools, param);
  for (size_t i = 0; i < tools.size(); ++i) {
    const std::string tool_param = param_index(param, i);
    const Json& tool = tools[i];
    if (!tool.is_object()) throw bad_request("'" + tool_param + "' must be an object", tool_param);
    const Json* function = object_field(tool, "function", tool_param + ".function");
    if (!function || !string_field(*function, "name", tool_param + ".function.name"))
      throw bad_request("'" + tool_param + ".function.name' is required", tool_param + ".function.name");
    object_field(*function, "parameters", tool_param + ".function.parameters");
  }
}

std::string tool_arguments_text(const Json& arguments, const std::string& param) {
  if (arguments.is_object()) return arguments.dump();
  if (!arguments.is_string())
    throw bad_request("'" + param + "' must be a JSON object as a string", param);
  Json parsed;
  try {
    parsed = tf::parse_json(arguments.get<std::string>(), param);
  } catch (const std::exception&) {
    throw bad_request("'" + param + "' is not valid JSON", param);
  }
  if (!parsed.is_object()) throw bad_request("'" + param + "' must be a JSON object", param);
  return parsed.dump();
}

namespace {

// tool_choice: "auto" | "none" | "required" | {"type": "function", "function": {"name"}}.
// The engine checks that a named function is one of the tools.
tightfit::ToolChoice read_tool_choice(const Json& body) {
  using Mode = tightfit::ToolChoice::Mode;
  tightfit::ToolChoice choice;
  const Json* value = find_field(body, "tool_choice");
  if (!value) return choice;
  if (value->is_string()) {
    const std::string mode = value->get<std::string>();
    if (mode == "auto") choice.mode = Mode::automatic;
    else if (mode == "none") choice.mode = Mode::none;
    else if (mode == "required") choice.mode = Mode::required;
    else throw bad_request("'tool_choice' must be 'auto', 'none', 'required' or a function", "tool_choice");
    return choice;
  }
  if (!value->is_object()) throw bad_request("'tool_choice' must be a string or an object", "tool_choice");
  const Json* function = object_field(*value, "function", "tool_choice.function");
  const std::optional<std::string> name =
      function ? string_field(*function, "name", "tool_choice.function.name") : std::nullopt;
  if (string_field(*value, "type", "tool_choice.type").value_or("function") != "function" || !name)
    throw bad_request("'tool_choice' as an object must be {\"type\": \"function\", \"function\": "
                      "{\"name\": ...}}",
                      "tool_choice");
  choice.mode = Mode::function;
  choice.function = *name;
  return choice;
}

}  // namespace

ParsedRequest parse_chat_request(const Json& raw_body, const ServerOptions& options) {
  if (!raw_body.is_object()) throw bad_request("the request body must be a JSON object");
  const Json body = merge_extra_body(raw_body);
  const RequestDefaults& defaults = options.defaults;
  ParsedRequest parsed;
  tightfit::Request& request = parsed.request;

  const Json* messages = find_field(body, "messages");
  if (!messages) throw bad_request("'messages' is required", "messages");
  if (!messages->is_array()) throw bad_request("'messages' must be an array", "messages");
  if (messages->empty()) throw bad_request("'messages' must not be empty", "messages");
  const ImagePolicy images{options.allow_local_images, options.allow_remote_images,
                           options.max_image_bytes};
  for (size_t i = 0; i < messages->size(); ++i)
    request.messages.push_back(read_message((*messages)[i], param_index("messages", i), images));
  if (!defaults.system.empty() && request.messages.front().role != "system")
    request.messages.insert(request.messages.begin(), Message::text("system", defaults.system));

  request.tool_choice = read_tool_choice(body);
  if (const Json* tools = find_field(body, "tools")) {
    check_tools(*tools, "tools");
    // tool_choice "none" hides the tools from the model (and the engine bans <tool_call>).
    if (request.tool_choice.mode != tightfit::ToolChoice::Mode::none && !tools->empty()) {
      request.tools = tools->dump();
      parsed.tools = *tools;
    }
  }

  check_unsupported(body);
  read_response_format(body, request);
  read_sampling(body, defaults, request.sampling);
  request.ignore_eos = read_ignore_eos(body);
  request.draft_tokens = read_draft_tokens(body);
  request.max_tokens = read_max_tokens(body, defaults);
  request.stop = read_stop(body, "stop");
  read_template_inputs(body, defaults, request);
  parsed.stream = bool_field(body, "stream", "stream").value_or(false);
  if (const Json* stream_options = object_field(body, "stream_options", "stream_options"))
    parsed.include_usage =
        bool_field(*stream_options, "include_usage", "stream_options.include_usage").value_or(false);
  parsed.logprobs = bool_field(body, "logprobs", "logprobs").value_or(false);
  const auto top_logprobs = integer_field(body, "top_logprobs", "top_logprobs", 0, 20);
  if (parsed.logprobs) request.logprobs = static_cast<int>(top_logprobs.value_or(0));
  return parsed;
}

}  // namespace tf::server
