// tightfit::inspect (include/tightfit/inspect.h) over the quant layer's checkpoint description.
#include "tightfit/inspect.h"

#include <filesystem>

#include <nlohmann/json.hpp>

#include "engine/api_errors-inl.h"
#include "quant/checkpoint_description.h"
#include "runtime/model_resolver.h"

namespace tightfit {

std::string inspect(const std::string& path, bool offline) {
  return as_api_errors("path", [&] {
    // A .safetensors file as is; anything else names a model as everywhere else.
    std::string local = path;
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) {
      tf::HubSettings settings = tf::hub_settings_from_env();
      settings.offline = settings.offline || offline;
      local = tf::resolve_model(path, settings, {}, "path").dir.string();
    }
    return tf::describe_checkpoint_json(path, tf::describe_checkpoint(local)).dump();
  });
}

}  // namespace tightfit
