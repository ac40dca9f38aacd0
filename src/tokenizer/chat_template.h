// Rendering a conversation with a model's chat template, building the same variables as
// transformers' apply_chat_template: messages, tools, documents, add_generation_prompt, the
// tokenizer's special-token strings, and any extra keyword (enable_thinking, add_vision_id,
// ...), extra keywords overriding the rest. Used by `template`, `generate`, `chat`, `serve`.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "tokenizer/jinja_template.h"
#include "tokenizer/tokenizer_config.h"

namespace tf::tokenizer {

struct ChatRequest {
  nlohmann::ordered_json messages = nlohmann::ordered_json::array();
  nlohmann::ordered_json tools;      // null (no tools) or a list of tool schemas
  nlohmann::ordered_json documents;  // null or a list (RAG templates)
  bool add_generation_prompt = true;
  std::optional<bool> enable_thinking;  // unset = the template's default (Qwen3.5: thinking on)
  // Any other template variable; these override everything above (so "add_generation_prompt"
  // or "enable_thinking" given here win).
  nlohmann::ordered_json extra_kwargs = nlohmann::ordered_json::object();

  // Reads {"messages": [...], "tools": [...]|null, "kwargs": {...}} (the `template --jsonl` line
  // format). "add_generation_prompt" defaults to true when the kwargs lack it.
  static ChatRequest from_json(const nlohmann::ordered_json& j);
};

class ChatTemplate {
 public:
  // Compiles the template; throws jinja::TemplateError naming line and column.
  explicit ChatTemplate(std::string_view source, std::string name = "chat template");

  // The variables transformers would pass (special tokens only when the config sets them).
  static nlohmann::ordered_json variables(const ChatRequest& request, const TokenizerConfig* config);

  // Throws jinja::TemplateError; kind() == kRaised when the template itself refused the input.
  std::string render(const ChatRequest& request, const TokenizerConfig* config = nullptr) const;

 private:
  jinja::Template template_;
};

// Renders with the model's own template (the "tool_use" variant when tools are given and the
// model has one).
std::string apply_chat_template(const TokenizerConfig& config, const ChatRequest& request);

}  // namespace tf::tokenizer
