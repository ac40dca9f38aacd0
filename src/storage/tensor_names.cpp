#include "storage/tensor_names.h"

#include <cstring>

namespace tf {

namespace {

// Replaces `from` at the start of `name` with `to`; true when it did.
bool swap_prefix(std::string& name, const char* from, const char* to) {
  if (!starts_with(name, from)) return false;
  name = to + name.substr(std::strlen(from));
  return true;
}

// `lm_head` is a whole first component: `lm_head` or `lm_head.…`, never `lm_headless`.
bool is_component_prefix(const std::string& name, const char* prefix) {
  const size_t n = std::strlen(prefix);
  return starts_with(name, prefix) && (name.size() == n || name[n] == '.');
}

}  // namespace

std::string mlx_name_from_hf(const std::string& name) {
  std::string s = name;
  if (swap_prefix(s, "model.language_model.visual.", "vision_tower.")) return s;
  if (swap_prefix(s, "model.language_model.", "language_model.model.")) return s;
  if (swap_prefix(s, "model.visual.", "vision_tower.")) return s;
  if (is_component_prefix(s, "lm_head")) return "language_model." + s;
  return s;
}

std::string hf_name_from_mlx(const std::string& name) {
  std::string s = name;
  if (swap_prefix(s, "language_model.model.", "model.language_model.")) return s;
  if (swap_prefix(s, "vision_tower.", "model.visual.")) return s;
  if (is_component_prefix(s, "language_model.lm_head")) return s.substr(std::strlen("language_model."));
  return s;
}

}  // namespace tf
