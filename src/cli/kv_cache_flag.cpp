#include "cli/kv_cache_flag.h"

#include <stdexcept>

#include "cli/commands.h"

namespace tf::cli {

KVType kv_cache_type(const std::string& name) {
  try {
    return parse_kv_type(name);
  } catch (const std::invalid_argument& e) {
    throw UsageError(std::string("--kv-cache: ") + e.what());
  }
}

}  // namespace tf::cli
