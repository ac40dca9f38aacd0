#include "cli/model_flag.h"

namespace tf::cli {

ResolvedModel resolve_model_flag(const std::string& spec, const std::string& flag) {
  return resolve_model(spec, hub_settings_from_env(), terminal_download_options(), flag);
}

}  // namespace tf::cli
