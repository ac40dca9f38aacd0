// --memory-limit (cli/memory_limit_flag.h); cli/engine_flags.cpp parses it into EngineOptions.
#include "cli/memory_limit_flag.h"

namespace tf::cli {

void add_memory_limit_flag(CLI::App* cmd, std::string& limit) {
  cmd->add_option("--memory-limit", limit,
                  "memory this run may take, e.g. 12GB (default: this machine's memory or cgroup "
                  "limit minus 3.5 GB, at most a quarter); a run that cannot fit is refused");
}

void add_mlock_flag(CLI::App* cmd, bool& mlock) {
  cmd->add_flag("--mlock", mlock,
                "lock the weights in memory so the OS never pages them out (needs RLIMIT_MEMLOCK "
                "above their size: `ulimit -l unlimited`)");
}

}  // namespace tf::cli
