// --kv-cache for the commands that drive a model Session themselves (`bench`, `logits`): the
// flag's name (added by add_kv_cache_flag, cli/generation_flags.h) as the cache element type.
#pragma once

#include <string>

#include "kernels/ops_attention.h"

namespace tf::cli {

// A UsageError naming the flag when `name` is none of f16 | bf16 | f32.
KVType kv_cache_type(const std::string& name);

}  // namespace tf::cli
