// --memory-limit: the memory a run may take (default: this machine's memory or cgroup limit
// minus a reserve). Before the prompt is fed, the memory plan (include/tightfit/plan.h) is
// checked for the tokens the run will hold; a run that cannot fit is refused with the plan's
// numbers (one line, exit code 2) instead of being killed by the OS half-way (issue 14).
#pragma once

#include <cstdint>
#include <string>

#include <CLI/CLI.hpp>

#include "cli/kv_cache_flags.h"

namespace tf::cli {

void add_memory_limit_flag(CLI::App* cmd, std::string& limit);

// Throws BadInputError (the plan's message) unless `tokens` cached tokens of the model in
// `model_dir` with this KV cache fit `limit` ("" = the default: machine memory − reserve; a
// given limit is the whole budget, no reserve taken off). A bad size is a UsageError.
void check_memory_limit(const std::string& limit, const std::string& model_dir,
                        const KVCacheFlags& kv, bool vision, int64_t tokens);

}  // namespace tf::cli
