// Flags shared by `generate` and `chat` (names follow mlx_lm.generate / mlx_vlm.generate, with
// their other spellings and llama.cpp's short ones as aliases where free). Turning them into
// engine requests: cli/engine_flags.h; into runtime settings (chat): cli/session_flags.h.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json_fwd.hpp>

#include "cli/image_flags.h"
#include "cli/kv_cache_flags.h"
#include "runtime/sampler_config.h"

namespace tf::cli {

struct GenerationFlags {
  std::string model;
  int threads = 0;
  std::string system;
  std::optional<int> max_tokens;
  std::optional<int64_t> context;         // --ctx-size / -c (llama.cpp's spelling)
  SamplerOverrides sampling;
  std::string logit_bias;                 // "ID:BIAS,..."
  std::vector<std::string> stop;          // --stop x y, or repeated
  std::string thinking;                   // "", "on", "off"
  std::string chat_template_args;         // JSON object
  bool hide_thinking = false;
  bool no_loop_guard = false;
  bool verbose = false;
  bool quiet = false;
  KVCacheFlags kv_cache;                  // --kv-cache, --kv-bits, --kv-group-size
  std::string memory_limit;               // --memory-limit (cli/memory_limit_flag.h)
  bool mlock = false;                     // --mlock (cli/memory_limit_flag.h)
  ImageFlags image;                       // --image, --max-pixels, --resize-shape
  std::optional<int> draft;               // --draft N (speculative decoding with the MTP head)
  bool no_spec = false;                   // --no-spec
  std::optional<int> draft_vocab;         // --draft-vocab N (reduced draft vocabulary)
};

void add_generation_flags(CLI::App* cmd, GenerationFlags& flags);

// --thinking (unset / true / false).
std::optional<bool> thinking_flag(const GenerationFlags& flags);
// --chat-template-args as a JSON object ({} when not given).
nlohmann::ordered_json template_kwargs(const GenerationFlags& flags);

}  // namespace tf::cli
