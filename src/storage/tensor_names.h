// The two spellings of Qwen3.5 tensor / module names (spec §2.1): Hugging Face
// (`model.language_model.…`, `model.visual.…`, `lm_head…`) and MLX after mlx-vlm / mlx-lm
// sanitising (`language_model.model.…`, `vision_tower.…`, `language_model.lm_head…`).
// Only the prefixes differ; everything after them is shared.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tf {

// The text-model prefixes of the two spellings.
inline constexpr const char* kHfTextPrefix = "model.language_model.";
inline constexpr const char* kMlxTextPrefix = "language_model.model.";

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

// The checkpoint layouts of spec §2.8, told apart by tensor names alone.
enum class CheckpointFlavour : uint8_t { HuggingFace, MlxVlm, MlxLm, Unknown };
const char* flavour_name(CheckpointFlavour f);  // "Hugging Face", "mlx-vlm", "mlx-lm", "unknown"
// HF when text tensors use `model.language_model.`; MLX when they use `language_model.model.`,
// mlx-vlm if `vision_tower.*` tensors are present, else mlx-lm. Unknown for anything else,
// including a mix of both spellings.
CheckpointFlavour detect_flavour(const std::vector<std::string>& names);

}  // namespace tf
