#include "tokenizer/tokenizer_config.h"

#include <fstream>
#include <sstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "base/json_read.h"

namespace tf::tokenizer {
namespace {

// A special token is a string, or (older files) an AddedToken object with "content".
std::optional<std::string> token_string(const nlohmann::json& config, const char* key, const std::string& source) {
  auto it = config.find(key);
  if (it == config.end() || it->is_null()) return std::nullopt;
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object() && it->contains("content") && (*it)["content"].is_string())
    return (*it)["content"].get<std::string>();
  throw std::runtime_error(source + ": \"" + key + "\" must be a string, null or {\"content\": ...}");
}

void read_chat_template_value(const nlohmann::json& value, TokenizerConfig& config,
                              const std::string& source) {
  if (value.is_string()) {
    config.chat_template = value.get<std::string>();
  } else if (value.is_array()) {  // [{"name": "default", "template": "..."}, ...]
    for (const auto& entry : value) {
      if (!entry.is_object() || !entry.contains("name") || !entry.contains("template") ||
          !entry["name"].is_string() || !entry["template"].is_string())
        throw std::runtime_error(source + ": each \"chat_template\" entry must have string \"name\" and \"template\"");
      const auto name = entry["name"].get<std::string>();
      if (name == "default") config.chat_template = entry["template"].get<std::string>();
      else config.named_chat_templates[name] = entry["template"].get<std::string>();
    }
  } else if (!value.is_null()) {
    throw std::runtime_error(source + ": \"chat_template\" must be a string or a list of named templates");
  }
  if (!config.chat_template.empty() || !config.named_chat_templates.empty()) config.chat_template_origin = source;
}

nlohmann::json read_json_file(const std::filesystem::path& path) {
  const std::string text = read_text_file(path);
  check_json_nesting(text, path.string());
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw std::runtime_error(path.string() + " is not valid JSON: " + e.what());
  }
}

}  // namespace

std::string read_text_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

const std::string& TokenizerConfig::select_chat_template(bool with_tools) const {
  if (with_tools) {
    if (auto it = named_chat_templates.find("tool_use"); it != named_chat_templates.end()) return it->second;
  }
  if (!chat_template.empty()) return chat_template;
  throw std::runtime_error(
      "the model has no chat template (looked for chat_template.jinja, chat_template.json and a "
      "\"chat_template\" entry in tokenizer_config.json); pass one with --chat-template FILE.jinja");
}

TokenizerConfig parse_tokenizer_config(const nlohmann::json& config, const std::string& source) {
  if (!config.is_object()) throw std::runtime_error(source + ": expected a JSON object");
  TokenizerConfig c;
  c.bos_token = token_string(config, "bos_token", source);
  c.eos_token = token_string(config, "eos_token", source);
  c.unk_token = token_string(config, "unk_token", source);
  c.pad_token = token_string(config, "pad_token", source);
  c.sep_token = token_string(config, "sep_token", source);
  c.cls_token = token_string(config, "cls_token", source);
  c.mask_token = token_string(config, "mask_token", source);
  if (auto it = config.find("additional_special_tokens"); it != config.end() && it->is_array()) {
    for (const auto& t : *it) {
      if (t.is_string()) c.additional_special_tokens.push_back(t.get<std::string>());
      else if (t.is_object() && t.contains("content") && t["content"].is_string())
        c.additional_special_tokens.push_back(t["content"].get<std::string>());
    }
  }
  if (auto it = config.find("add_bos_token"); it != config.end() && it->is_boolean()) c.add_bos_token = it->get<bool>();
  if (auto it = config.find("add_eos_token"); it != config.end() && it->is_boolean()) c.add_eos_token = it->get<bool>();
  if (auto it = config.find("chat_template"); it != config.end()) read_chat_template_value(*it, c, source);
  return c;
}

TokenizerConfig load_tokenizer_config(const std::filesystem::path& dir) {
  TokenizerConfig c;
  const auto config_path = dir / "tokenizer_config.json";
  if (std::filesystem::exists(config_path)) c = parse_tokenizer_config(read_json_file(config_path), config_path.string());

  // Newer exports keep the template in its own file, which wins over the config entry.
  const auto processor_template = dir / "chat_template.json";
  if (std::filesystem::exists(processor_template)) {
    const auto j = read_json_file(processor_template);
    if (!j.is_object() || !j.contains("chat_template"))
      throw std::runtime_error(processor_template.string() + ": expected {\"chat_template\": ...}");
    c.chat_template.clear();
    read_chat_template_value(j["chat_template"], c, processor_template.string());
  }
  const auto jinja = dir / "chat_template.jinja";
  if (std::filesystem::exists(jinja)) {
    c.chat_template = read_text_file(jinja);
    c.chat_template_origin = jinja.string();
  }
  const auto extra_dir = dir / "additional_chat_templates";
  if (std::filesystem::is_directory(extra_dir)) {
    for (const auto& entry : std::filesystem::directory_iterator(extra_dir))
      if (entry.path().extension() == ".jinja")
        c.named_chat_templates[entry.path().stem().string()] = read_text_file(entry.path());
  }
  return c;
}

ModelTokenizer ModelTokenizer::load(const std::filesystem::path& dir) {
  if (!std::filesystem::is_directory(dir))
    throw std::runtime_error("model folder " + dir.string() + " does not exist or is not a directory");
  const auto json_path = dir / "tokenizer.json";
  if (!std::filesystem::exists(json_path))
    throw std::runtime_error(dir.string() + " has no tokenizer.json (tightfit reads Hugging Face "
                             "fast-tokenizer files; vocab.json/merges.txt alone are not supported)");
  return ModelTokenizer{Tokenizer::from_file(json_path), load_tokenizer_config(dir)};
}

std::optional<TokenId> ModelTokenizer::id_of(const std::optional<std::string>& token) const {
  if (!token) return std::nullopt;
  return tokenizer.token_to_id(*token);
}

}  // namespace tf::tokenizer
