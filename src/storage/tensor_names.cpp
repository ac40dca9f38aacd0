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

const char* flavour_name(CheckpointFlavour f) {
  switch (f) {
    case CheckpointFlavour::HuggingFace: return "Hugging Face";
    case CheckpointFlavour::MlxVlm: return "mlx-vlm";
    case CheckpointFlavour::MlxLm: return "mlx-lm";
    case CheckpointFlavour::Unknown: break;
  }
  return "unknown";
}

CheckpointFlavour detect_flavour(const std::vector<std::string>& names) {
  bool hf = false, mlx = false, vision_tower = false;
  for (const auto& n : names) {
    hf = hf || starts_with(n, kHfTextPrefix);
    mlx = mlx || starts_with(n, kMlxTextPrefix);
    vision_tower = vision_tower || starts_with(n, "vision_tower.");
  }
  if (hf == mlx) return CheckpointFlavour::Unknown;
  if (hf) return CheckpointFlavour::HuggingFace;
  return vision_tower ? CheckpointFlavour::MlxVlm : CheckpointFlavour::MlxLm;
}

}  // namespace tf
