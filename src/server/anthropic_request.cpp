// Anthropic's messages request (https://docs.anthropic.com/en/api/messages) → tightfit::Request.
// Content blocks map onto the OpenAI-shaped messages the chat template takes: tool_use blocks
// become an assistant's tool_calls, tool_result blocks become `tool` messages, thinking blocks
// the assistant's reasoning.
#include <climits>

#include "server/api_error.h"
#include "server/image_source.h"
#include "server/parsed_request.h"
#include "server/request_fields.h"

namespace tf::server {
namespace {

using tightfit::ContentPart;
using tightfit::Message;

std::string text_of_blocks(const Json& content, const std::string& param) {
  if (content.is_string()) return content.get<std::string>();
  if (!content.is_array()) throw bad_request("'" + param + "' must be a string or an array", param);
  std::string text;
  for (size_t i = 0; i < content.size(); ++i) {
    const Json& block = content[i];
    const std::string block_param = param_index(param, i);
    if (!block.is_object() || string_field(block, "type", block_param + ".type").value_or("") != "text")
      throw bad_request("'" + block_param + "' must be a text block", block_param);
    text += string_field(block, "text", block_param + ".text").value_or("");
  }
  return text;
}

tightfit::Image read_image_block(const Json& block, const std::string& param,
                                 const ImagePolicy& images) {
  const Json* source = object_field(block, "source", param + ".source");
  if (!source) throw bad_request("'" + param + ".source' is required", param + ".source");
  const std::string type = string_field(*source, "type", param + ".source.type").value_or("");
  if (type == "base64") {
    const std::string media = string_field(*source, "media_type", param + ".source.media_type").value_or("image/png");
    const std::string data = string_field(*source, "data", param + ".source.data").value_or("");
    return image_from_url("data:" + media + ";base64," + data, images, param + ".source");
  }
  if (type == "url")
    return image_from_url(string_field(*source, "url", param + ".source.url").value_or(""), images,
                          param + ".source");
  throw bad_request("image source type must be 'base64' or 'url'", param + ".source.type");
}

// One Anthropic message → one or more chat messages appended to `out`.
void read_message(const Json& json, const std::string& param, const ImagePolicy& images,
                  std::vector<Message>& out) {
  if (!json.is_object()) throw bad_request("'" + param + "' must be an object", param);
  const std::optional<std::string> role = string_field(json, "role", param + ".role");
  if (!role) throw bad_request("'" + param + ".role' is required", param + ".role");
  if (*role != "user" && *role != "assistant")
    throw bad_request("unknown role '" + *role + "': use 'user' or 'assistant' (the system prompt "
                      "is the top-level 'system' field)",
                      param + ".role");
  const Json* content = find_field(json, "content");
  if (!content) throw bad_request("'" + param + ".content' is required", param + ".content");
  Message message;
  message.role = *role;
  if (content->is_string()) {
    message.content.push_back({ContentPart::Kind::text, content->get<std::string>(), {}});
    out.push_back(std::move(message));
    return;
  }
  if (!content->is_array())
    throw bad_request("'" + param + ".content' must be a string or an array of blocks", param + ".content");
  for (size_t i = 0; i < content->size(); ++i) {
    const Json& block = (*content)[i];
    const std::string block_param = param_index(param + ".content", i);
    if (!block.is_object()) throw bad_request("'" + block_param + "' must be an object", block_param);
    const std::string type = string_field(block, "type", block_param + ".type").value_or("");
    if (type == "text") {
      message.content.push_back(
          {ContentPart::Kind::text, string_field(block, "text", block_param + ".text").value_or(""), {}});
    } else if (type == "image" && *role == "user") {
      message.content.push_back({ContentPart::Kind::image, {}, read_image_block(block, block_param, images)});
    } else if (type == "tool_use" && *role == "assistant") {
      tightfit::ToolCall call;
      call.id = string_field(block, "id", block_param + ".id").value_or("");
      call.name = string_field(block, "name", block_param + ".name").value_or("");
      if (call.name.empty()) throw bad_request("'" + block_param + ".name' is required", block_param + ".name");
      const Json* input = find_field(block, "input");
      call.arguments = input ? tool_arguments_text(*input, block_param + ".input") : "{}";
      message.tool_calls.push_back(std::move(call));
    } else if (type == "tool_result" && *role == "user") {
      Message result;
      result.role = "tool";
      result.tool_call_id = string_field(block, "tool_use_id", block_param + ".tool_use_id").value_or("");
      const Json* result_content = find_field(block, "content");
      const std::string text = result_content ? text_of_blocks(*result_content, block_param + ".content") : "";
      result.content.push_back({ContentPart::Kind::text, text, {}});
      out.push_back(std::move(result));
    } else if (type == "thinking" && *role == "assistant") {
      message.reasoning += string_field(block, "thinking", block_param + ".thinking").value_or("");
    } else if (type == "redacted_thinking") {
      // Nothing the model could read.
    } else {
      throw bad_request("content block type '" + type + "' is not supported in a " + *role + " message",
                        block_param + ".type");
    }
  }
  if (!message.content.empty() || !message.tool_calls.empty() || !message.reasoning.empty())
    out.push_back(std::move(message));
}

// Anthropic tools [{name, description, input_schema}] in OpenAI's shape, which the template takes.
Json openai_tools(const Json& tools) {
  if (!tools.is_array()) throw bad_request("'tools' must be an array", "tools");
  Json converted = Json::array();
  for (size_t i = 0; i < tools.size(); ++i) {
    const Json& tool = tools[i];
    const std::string param = param_index("tools", i);
    if (!tool.is_object()) throw bad_request("'" + param + "' must be an object", param);
    const auto name = string_field(tool, "name", param + ".name");
    if (!name) throw bad_request("'" + param + ".name' is required", param + ".name");
    Json function = {{"name", *name}};
    if (auto description = string_field(tool, "description", param + ".description"))
      function["description"] = *description;
    const Json* schema = object_field(tool, "input_schema", param + ".input_schema");
    function["parameters"] = schema ? *schema : Json{{"type", "object"}, {"properties", Json::object()}};
    converted.push_back({{"type", "function"}, {"function", function}});
  }
  return converted;
}

}  // namespace

namespace {

// tool_choice: {"type": "auto"} | {"type": "any"} | {"type": "tool", "name"} | {"type": "none"}
// (https://docs.anthropic.com/en/docs/build-with-claude/tool-use), the same choices as OpenAI's
// auto / required / a named function / none.
tightfit::ToolChoice read_tool_choice(const Json& body) {
  using Mode = tightfit::ToolChoice::Mode;
  tightfit::ToolChoice choice;
  const Json* value = object_field(body, "tool_choice", "tool_choice");
  if (!value) return choice;
  const std::string type = string_field(*value, "type", "tool_choice.type").value_or("auto");
  if (type == "auto") choice.mode = Mode::automatic;
  else if (type == "any") choice.mode = Mode::required;
  else if (type == "none") choice.mode = Mode::none;
  else if (type == "tool") choice.mode = Mode::function;
  else throw bad_request("'tool_choice.type' must be 'auto', 'any', 'tool' or 'none'", "tool_choice.type");
  if (choice.mode == Mode::function) {
    const std::optional<std::string> name = string_field(*value, "name", "tool_choice.name");
    if (!name) throw bad_request("'tool_choice' of type 'tool' needs the tool's 'name'", "tool_choice.name");
    choice.function = *name;
  }
  return choice;
}

}  // namespace

ParsedRequest parse_anthropic_request(const Json& body, const ServerOptions& options) {
  if (!body.is_object()) throw bad_request("the request body must be a JSON object");
  const RequestDefaults& defaults = options.defaults;
  ParsedRequest parsed;
  tightfit::Request& request = parsed.request;

  std::string system = defaults.system;
  if (const Json* given = find_field(body, "system")) system = text_of_blocks(*given, "system");
  if (!system.empty()) request.messages.push_back(Message::text("system", system));
  const Json* messages = find_field(body, "messages");
  if (!messages) throw bad_request("'messages' is required", "messages");
  if (!messages->is_array()) throw bad_request("'messages' must be an array", "messages");
  if (messages->empty()) throw bad_request("'messages' must not be empty", "messages");
  const ImagePolicy images{options.allow_local_images, options.allow_remote_images, options.max_image_bytes};
  for (size_t i = 0; i < messages->size(); ++i)
    read_message((*messages)[i], param_index("messages", i), images, request.messages);

  request.tool_choice = read_tool_choice(body);
  if (const Json* tools = find_field(body, "tools")) {
    Json converted = openai_tools(*tools);
    check_tools(converted, "tools");
    const bool none = request.tool_choice.mode == tightfit::ToolChoice::Mode::none;
    if (!none && !converted.empty()) {
      request.tools = converted.dump();
      parsed.tools = std::move(converted);
    }
  }

  read_sampling(body, defaults, request.sampling);
  request.max_tokens = read_max_tokens(body, defaults);
  request.draft_tokens = read_draft_tokens(body);
  request.stop = read_stop(body, "stop_sequences");
  read_template_inputs(body, defaults, request);
  // thinking: {"type": "enabled", "budget_tokens": N} | {"type": "disabled"}
  if (const Json* thinking = object_field(body, "thinking", "thinking")) {
    const std::string type = string_field(*thinking, "type", "thinking.type").value_or("");
    if (type == "enabled") {
      request.enable_thinking = true;
      if (auto budget = integer_field(*thinking, "budget_tokens", "thinking.budget_tokens", 0, INT_MAX))
        request.thinking_budget = static_cast<int>(*budget);
    } else if (type == "disabled") {
      request.enable_thinking = false;
    } else {
      throw bad_request("'thinking.type' must be 'enabled' or 'disabled'", "thinking.type");
    }
  }
  parsed.stream = bool_field(body, "stream", "stream").value_or(false);
  return parsed;
}

}  // namespace tf::server
