// Sampling settings: what the sampler does to one row of logits, with defaults taken from a
// model folder's generation_config.json and overridable field by field (command-line flags,
// server request fields).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tf {

struct SamplerConfig {
  // 0 means greedy (argmax). The default is greedy, as in transformers (do_sample=false) and
  // mlx_lm.generate (--temp 0) when a model gives no generation_config.json.
  float temperature = 0.0f;
  int top_k = 0;               // keep the k most likely tokens; 0 = off; k > vocab = off
  float top_p = 1.0f;          // nucleus: smallest set with probability mass >= top_p; 1 = off
  float min_p = 0.0f;          // drop tokens with p < min_p * p_max; 0 = off
  float repetition_penalty = 1.0f;  // CTRL-style, sign-aware (divide positive logits); 1 = off
  int repetition_context_size = 20;  // last N tokens the repetition penalty looks at; 0 = all
  float presence_penalty = 0.0f;     // subtracted once from every token seen in the window
  float frequency_penalty = 0.0f;    // subtracted once per occurrence in the window
  int penalty_context_size = 20;     // window of the presence/frequency penalties; 0 = all
  std::optional<uint64_t> seed;      // unset: a random seed per Sampler
  std::vector<std::pair<int32_t, float>> logit_bias;  // (token id, added to its logit)

  bool greedy() const { return temperature == 0.0f; }
};

// Throws std::invalid_argument naming the flag (--temp, --top-p, ...) for an out-of-range value.
void validate(const SamplerConfig& config);

// What generation_config.json contributes: sampling defaults plus ids the generation loop needs.
struct GenerationDefaults {
  SamplerConfig sampler;
  std::vector<int32_t> eos_token_ids;    // empty when the file names none
  std::optional<int32_t> bos_token_id;
  std::optional<int32_t> pad_token_id;
  std::optional<int> max_new_tokens;     // only when the file sets max_new_tokens
  bool from_file = false;                // false: the folder had no generation_config.json
};

// Reads <model_dir>/generation_config.json when present (absent → defaults, from_file=false).
// Follows transformers: do_sample false or missing → greedy (temperature 0); do_sample true
// with no temperature → 1.0; top_k missing → 0 (off; transformers' own default of 50 is not
// applied because no model here relies on it). eos_token_id may be an int or a list.
// Throws std::runtime_error naming the file on bad JSON or a field of the wrong type.
GenerationDefaults load_generation_defaults(const std::filesystem::path& model_dir);
// The same from the file's text (source names it in error messages).
GenerationDefaults parse_generation_config(std::string_view json_text, const std::string& source);

// Field-by-field overrides (command-line flags, request fields): only set fields replace the
// base value. logit_bias entries are added after the base entries.
struct SamplerOverrides {
  std::optional<float> temperature;
  std::optional<int> top_k;
  std::optional<float> top_p;
  std::optional<float> min_p;
  std::optional<float> repetition_penalty;
  std::optional<int> repetition_context_size;
  std::optional<float> presence_penalty;
  std::optional<float> frequency_penalty;
  std::optional<int> penalty_context_size;
  std::optional<uint64_t> seed;
  std::vector<std::pair<int32_t, float>> logit_bias;
};

SamplerConfig apply_overrides(SamplerConfig base, const SamplerOverrides& overrides);

// Parses "ID:BIAS[,ID:BIAS...]" (e.g. "248046:-100,13:2.5") as given to --logit-bias.
// Throws std::invalid_argument naming the bad entry.
std::vector<std::pair<int32_t, float>> parse_logit_bias(std::string_view text);

}  // namespace tf
