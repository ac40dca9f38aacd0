// --memory-limit: the memory a run may take (default: this machine's memory or cgroup limit
// minus a reserve), EngineOptions::memory_limit of generate and chat. The engine checks its
// memory plan (include/tightfit/plan.h) when it loads and for each request's prompt +
// max_tokens; a run that cannot fit is refused with the plan's numbers (one line, exit code 2)
// instead of being killed by the OS half-way (issue 14). --mlock: EngineOptions::mlock.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

namespace tf::cli {

void add_memory_limit_flag(CLI::App* cmd, std::string& limit);
void add_mlock_flag(CLI::App* cmd, bool& mlock);

}  // namespace tf::cli
