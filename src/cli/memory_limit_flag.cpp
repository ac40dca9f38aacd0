// --memory-limit and the check before a run (cli/memory_limit_flag.h).
#include "cli/memory_limit_flag.h"

#include "cli/commands.h"
#include "tightfit/plan.h"

namespace tf::cli {

void add_memory_limit_flag(CLI::App* cmd, std::string& limit) {
  cmd->add_option("--memory-limit", limit,
                  "memory this run may take, e.g. 12GB (default: this machine's memory or cgroup "
                  "limit minus 3.5 GB, at most a quarter); a run that cannot fit is refused");
}

void check_memory_limit(const std::string& limit, const std::string& model_dir,
                        const KVCacheFlags& kv, bool vision, int64_t tokens) {
  tightfit::PlanOptions o;
  o.model = model_dir;
  o.kv_bits = kv_quant_bits(kv_cache_type(kv));
  if (o.kv_bits == 0) o.kv_bits = kv_cache_type(kv) == KVType::F32 ? 32 : 16;  // bf16: 2 bytes
  o.kv_group_size = kv_group_size(kv);
  o.context = tokens;
  o.vision = vision;
  try {
    if (!limit.empty()) {
      o.memory = tightfit::parse_byte_size(limit, "--memory-limit");
      o.reserve = 0;
    }
    tightfit::plan_memory(o).check_tokens(tokens);
  } catch (const tightfit::InvalidRequest& e) {
    throw UsageError(e.what());
  } catch (const tightfit::Error& e) {
    throw BadInputError(e.what());
  }
}

}  // namespace tf::cli
