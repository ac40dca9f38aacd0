#include "tokenizer/chat_template.h"

#include <stdexcept>

#include "base/json_read.h"

namespace tf::tokenizer {

ChatRequest ChatRequest::from_json(const nlohmann::ordered_json& j) {
  if (!j.is_object()) throw std::invalid_argument("a chat request must be a JSON object with \"messages\"");
  check_json_value_nesting(j, "chat request");  // before the copies below, which recurse
  ChatRequest r;
  auto messages = j.find("messages");
  if (messages == j.end()) throw std::invalid_argument("chat request has no \"messages\"");
  if (!messages->is_array()) throw std::invalid_argument("\"messages\" must be a list");
  r.messages = *messages;
  if (auto tools = j.find("tools"); tools != j.end()) {
    if (!tools->is_null() && !tools->is_array()) throw std::invalid_argument("\"tools\" must be a list or null");
    r.tools = *tools;
  }
  if (auto docs = j.find("documents"); docs != j.end()) r.documents = *docs;
  if (auto kwargs = j.find("kwargs"); kwargs != j.end() && !kwargs->is_null()) {
    if (!kwargs->is_object()) throw std::invalid_argument("\"kwargs\" must be an object");
    r.extra_kwargs = *kwargs;
  }
  return r;
}

ChatTemplate::ChatTemplate(std::string_view source, std::string name) : template_(source, std::move(name)) {}

nlohmann::ordered_json ChatTemplate::variables(const ChatRequest& request, const TokenizerConfig* config) {
  nlohmann::ordered_json vars = nlohmann::ordered_json::object();
  if (config) {
    auto put = [&](const char* key, const std::optional<std::string>& token) {
      if (token && !token->empty()) vars[key] = *token;
    };
    put("bos_token", config->bos_token);
    put("eos_token", config->eos_token);
    put("unk_token", config->unk_token);
    put("sep_token", config->sep_token);
    put("pad_token", config->pad_token);
    put("cls_token", config->cls_token);
    put("mask_token", config->mask_token);
    if (!config->additional_special_tokens.empty()) vars["additional_special_tokens"] = config->additional_special_tokens;
  }
  vars["messages"] = request.messages;
  vars["tools"] = request.tools;
  vars["documents"] = request.documents;
  vars["add_generation_prompt"] = request.add_generation_prompt;
  if (request.enable_thinking) vars["enable_thinking"] = *request.enable_thinking;
  if (!request.extra_kwargs.is_null()) {
    if (!request.extra_kwargs.is_object()) throw std::invalid_argument("chat template kwargs must be a JSON object");
    for (auto it = request.extra_kwargs.begin(); it != request.extra_kwargs.end(); ++it) vars[it.key()] = it.value();
  }
  return vars;
}

std::string ChatTemplate::render(const ChatRequest& request, const TokenizerConfig* config) const {
  if (!request.messages.is_array()) throw std::invalid_argument("\"messages\" must be a list");
  return template_.render(variables(request, config));
}

std::string apply_chat_template(const TokenizerConfig& config, const ChatRequest& request) {
  const bool with_tools = request.tools.is_array() && !request.tools.empty();
  const std::string& source = config.select_chat_template(with_tools);
  return ChatTemplate(source, config.chat_template_origin.empty() ? "chat template" : config.chat_template_origin)
      .render(request, &config);
}

}  // namespace tf::tokenizer
