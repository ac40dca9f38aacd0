// Flags shared by `generate` and `chat` (names follow mlx_lm.generate / mlx_vlm.generate, with
// their other spellings and llama.cpp's short ones as aliases where free), and
// turning them plus the model's generation_config.json into runtime settings.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/image_flags.h"
#include "model/session.h"
#include "runtime/generator.h"
#include "runtime/loaded_model.h"
#include "runtime/sampler_config.h"

namespace tf::cli {

struct GenerationFlags {
  std::string model;
  int threads = 0;
  std::string system;
  std::optional<int> max_tokens;
  SamplerOverrides sampling;
  std::string logit_bias;                 // "ID:BIAS,..."
  std::vector<std::string> stop;          // --stop x y, or repeated
  std::string thinking;                   // "", "on", "off"
  std::string chat_template_args;         // JSON object
  bool hide_thinking = false;
  bool no_loop_guard = false;
  bool verbose = false;
  bool quiet = false;
  std::string kv_cache = "f16";           // --kv-cache: f16, bf16 or f32
  ImageFlags image;                       // --image, --max-pixels, --resize-shape
  std::optional<int> draft;               // --draft N (speculative decoding with the MTP head)
  bool no_spec = false;                   // --no-spec
  std::optional<int> draft_vocab;         // --draft-vocab N (reduced draft vocabulary)
};

void add_generation_flags(CLI::App* cmd, GenerationFlags& flags);

// Resolves and loads --model (cli/model_flag.h); a missing model or one without a tokenizer is
// a ModelNotFoundError (bad input, exit code 2).
// The model's worker threads start with SIGINT blocked (see interrupt.h).
// vision: bind the vision tower when the model has one (false for a text-only run).
LoadedModel load_model(const GenerationFlags& flags, bool vision = true);

// Sampling defaults from generation_config.json overridden by the flags, EOS ids, stops, the
// max-token budget. Bad values are UsageErrors naming the flag.
GenerationParams generation_params(const GenerationFlags& flags, const LoadedModel& model);

// Session settings from the flags (--kv-cache).
SessionOptions session_options(const GenerationFlags& flags);

// Adds --kv-cache (f16 | bf16 | f32) to a command; `target` receives the name, which
// kv_cache_type turns into the type (a UsageError naming the flag when it is none of those).
void add_kv_cache_flag(CLI::App* cmd, std::string& target);
KVType kv_cache_type(const std::string& name);

// --verbose: the model (folder, layers, vocabulary, threads) and the sampling settings, on stderr.
void print_settings(const LoadedModel& model, const GenerationParams& params);

// The notices after an answer, on stderr: the loop guard's, and with --hide-thinking an answer
// that ended inside the reasoning (nothing was printed: say why instead of leaving silence).
void print_result_notices(const GenerationResult& result, const GenerationFlags& flags);

// --thinking (unset / true / false).
std::optional<bool> thinking_flag(const GenerationFlags& flags);
// --chat-template-args as a JSON object ({} when not given).
nlohmann::ordered_json template_kwargs(const GenerationFlags& flags);

}  // namespace tf::cli
