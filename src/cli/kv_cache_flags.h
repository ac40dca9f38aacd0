// The KV cache flags of every command that runs the model: --kv-cache (a type name),
// --kv-bits (32 | 16 | 8 | 4 | 2, the name MLX's and the API's option use) and --kv-group-size:
// as EngineOptions for the engine-based commands (generate, chat, serve, logits), as the cache
// type's name for bench.
#pragma once

#include <cstdint>
#include <string>

#include <CLI/CLI.hpp>

#include "tightfit/tightfit.h"

namespace tf::cli {

struct KVCacheFlags {
  std::string type = "f16";  // --kv-cache: f16, bf16, f32, q8, q4, q2
  int bits = 0;              // --kv-bits: overrides --kv-cache when given (0: not given)
  int group_size = 64;       // --kv-group-size: quantized caches' elements per scale and bias
};

void add_kv_cache_flags(CLI::App* cmd, KVCacheFlags& flags);

// The cache type the flags name ("f16", "q4", ...); a UsageError naming the flag for a bad value
// or both flags given with different widths.
std::string kv_cache_type(const KVCacheFlags& flags);
// The group size (32, 64 or 128), or a UsageError.
int kv_group_size(const KVCacheFlags& flags);
// Sets EngineOptions::kv_type, kv_bits and kv_group_size from the flags (UsageErrors as above).
void set_kv_cache_options(const KVCacheFlags& flags, tightfit::EngineOptions& options);

}  // namespace tf::cli
