#include "engine/chat_template_input.h"

#include <string_view>

#include "base/json_read.h"
#include "tokenizer/jinja_error.h"

namespace tightfit {

using nlohmann::ordered_json;

namespace {

ordered_json parse_json_field(const std::string& text, const std::string& param) {
  try {
    return tf::parse_ordered_json(text, param);
  } catch (const std::runtime_error& e) {
    throw InvalidRequest(e.what(), param);
  }
}

bool is_role(std::string_view role) {
  return role == "system" || role == "user" || role == "assistant" || role == "tool";
}

ordered_json content_of(const Message& m) {
  bool images = false;
  for (const ContentPart& part : m.content) images |= part.kind == ContentPart::Kind::image;
  if (!images) return m.text_content();
  ordered_json parts = ordered_json::array();
  for (const ContentPart& part : m.content) {
    if (part.kind == ContentPart::Kind::image)
      parts.push_back({{"type", "image"}});
    else
      parts.push_back({{"type", "text"}, {"text", part.text}});
  }
  return parts;
}

ordered_json tool_call_json(const ToolCall& call, const std::string& param) {
  ordered_json arguments = ordered_json::object();
  if (!call.arguments.empty()) {
    arguments = parse_json_field(call.arguments, param + ".arguments");
    if (!arguments.is_object())
      throw InvalidRequest(param + ".arguments must be a JSON object", param + ".arguments");
  }
  ordered_json function = {{"name", call.name}, {"arguments", std::move(arguments)}};
  ordered_json j = {{"type", "function"}};
  if (!call.id.empty()) j["id"] = call.id;
  j["function"] = std::move(function);
  return j;
}

}  // namespace

tf::tokenizer::ChatRequest chat_template_input(const Request& request, bool add_generation_prompt) {
  tf::tokenizer::ChatRequest input;
  for (size_t i = 0; i < request.messages.size(); ++i) {
    const Message& m = request.messages[i];
    const std::string param = "messages[" + std::to_string(i) + "]";
    if (!is_role(m.role))
      throw InvalidRequest(param + ".role must be system, user, assistant or tool, got \"" +
                               m.role + "\"",
                           param + ".role");
    ordered_json j = {{"role", m.role}, {"content", content_of(m)}};
    if (m.role == "assistant") {
      if (!m.reasoning.empty()) j["reasoning_content"] = m.reasoning;
      if (!m.tool_calls.empty()) {
        ordered_json calls = ordered_json::array();
        for (size_t c = 0; c < m.tool_calls.size(); ++c)
          calls.push_back(
              tool_call_json(m.tool_calls[c], param + ".tool_calls[" + std::to_string(c) + "]"));
        j["tool_calls"] = std::move(calls);
      }
    } else if (!m.tool_calls.empty()) {
      throw InvalidRequest(param + ": only assistant messages have tool_calls",
                           param + ".tool_calls");
    }
    if (m.role == "tool") {
      if (!m.tool_call_id.empty()) j["tool_call_id"] = m.tool_call_id;
      if (!m.name.empty()) j["name"] = m.name;
    }
    input.messages.push_back(std::move(j));
  }
  if (!request.tools.empty()) {
    input.tools = parse_json_field(request.tools, "tools");
    if (!input.tools.is_array())
      throw InvalidRequest("tools must be a JSON array of tool definitions", "tools");
  }
  input.add_generation_prompt = add_generation_prompt;
  input.enable_thinking = request.enable_thinking;
  if (!request.template_kwargs.empty()) {
    input.extra_kwargs = parse_json_field(request.template_kwargs, "template_kwargs");
    if (!input.extra_kwargs.is_object())
      throw InvalidRequest("template_kwargs must be a JSON object", "template_kwargs");
  }
  return input;
}

std::string render_chat_template(const tf::tokenizer::TokenizerConfig& config,
                                 const tf::tokenizer::ChatRequest& input) {
  try {
    return tf::tokenizer::apply_chat_template(config, input);
  } catch (const tf::jinja::TemplateError& e) {
    throw InvalidRequest(std::string("the chat template refused the messages: ") + e.what(),
                         "messages");
  }
}

}  // namespace tightfit
