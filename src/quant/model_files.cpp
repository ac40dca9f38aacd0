#include "quant/model_files.h"

#include <cctype>
#include <set>

#include "storage/tensor_names.h"

namespace tf {

bool is_auxiliary_file(const std::string& n) {
  static const std::set<std::string> kNames = {
      "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json",
      "vocab.json", "merges.txt", "tokenizer.model", "chat_template.jinja", "chat_template.json",
      "generation_config.json", "preprocessor_config.json", "video_preprocessor_config.json",
      "processor_config.json", "LICENSE", "LICENSE.txt", "NOTICE"};
  return kNames.count(n) || ends_with(n, ".jinja") || ends_with(n, ".tiktoken");
}

bool is_vision_processor_file(const std::string& n) {
  return n == "preprocessor_config.json" || n == "video_preprocessor_config.json" ||
         n == "processor_config.json";
}

bool is_shard_file(const std::string& n) {
  if (n == "model.safetensors" || n == "model.safetensors.index.json") return true;
  // model-DDDDD-of-DDDDD.safetensors
  const std::string pattern = "model-#####-of-#####.safetensors";
  if (n.size() != pattern.size()) return false;
  for (size_t i = 0; i < n.size(); ++i)
    if (pattern[i] == '#' ? !std::isdigit(static_cast<unsigned char>(n[i])) : pattern[i] != n[i])
      return false;
  return true;
}

bool is_model_file_tightfit_writes(const std::string& n) {
  return n == "config.json" || is_shard_file(n) || is_auxiliary_file(n);
}

}  // namespace tf
