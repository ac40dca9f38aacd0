// What a Hugging Face model folder says about its tokenizer besides tokenizer.json:
// tokenizer_config.json (special token strings, add_bos/eos, the chat template) and the chat
// template files that newer exports write separately. Precedence follows transformers:
// chat_template.jinja, then chat_template.json, then tokenizer_config.json's "chat_template".
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "tokenizer/tokenizer.h"

namespace tf::tokenizer {

struct TokenizerConfig {
  // Special token strings; unset when the config has none (null or absent).
  std::optional<std::string> bos_token, eos_token, unk_token, pad_token, sep_token, cls_token, mask_token;
  std::vector<std::string> additional_special_tokens;
  bool add_bos_token = false;
  bool add_eos_token = false;
  // The default chat template ("" if the folder has none) and any named ones ("tool_use", ...).
  std::string chat_template;
  std::map<std::string, std::string> named_chat_templates;
  std::string chat_template_origin;  // file the default template came from, for messages

  // The template transformers would use: "tool_use" when tools are given and it exists,
  // otherwise the default. Throws when the model has no chat template.
  const std::string& select_chat_template(bool with_tools) const;
};

// Parses tokenizer_config.json's content (`source` names it in errors).
TokenizerConfig parse_tokenizer_config(const nlohmann::json& config, const std::string& source);

// Reads the folder's tokenizer_config.json (optional) and chat template files (optional).
TokenizerConfig load_tokenizer_config(const std::filesystem::path& model_dir);

// A model folder's tokenizer: tokenizer.json plus the config above.
struct ModelTokenizer {
  Tokenizer tokenizer;
  TokenizerConfig config;

  // Throws naming the missing or malformed file.
  static ModelTokenizer load(const std::filesystem::path& model_dir);

  // Id of a special token string from the config (e.g. *config.eos_token), if in the vocabulary.
  std::optional<TokenId> id_of(const std::optional<std::string>& token) const;
};

// Reads a whole file; throws naming it when it cannot be read.
std::string read_text_file(const std::filesystem::path& path);

}  // namespace tf::tokenizer
