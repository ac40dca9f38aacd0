// The two spellings of Qwen3.5 tensor / module names (spec §2.1): Hugging Face
// (`model.language_model.…`, `model.visual.…`, `lm_head…`) and MLX after mlx-vlm / mlx-lm
// sanitising (`language_model.model.…`, `vision_tower.…`, `language_model.lm_head…`).
// Only the prefixes differ; everything after them is shared.
#pragma once

#include <string>

namespace tf {

// HF → MLX prefix rewrite; names already in MLX spelling (or unknown) come back unchanged.
// `model.language_model.visual.` (a nesting some checkpoints use) also maps to `vision_tower.`.
std::string mlx_name_from_hf(const std::string& name);
// MLX → HF prefix rewrite; names already in HF spelling (or unknown) come back unchanged.
std::string hf_name_from_mlx(const std::string& name);

inline bool starts_with(const std::string& s, const char* prefix) {
  return s.rfind(prefix, 0) == 0;
}
inline bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace tf
