// The model alone — weights, no tokenizer, no engine — resolved and loaded with the public
// API's errors, for the tools that run a Session directly (logits.cpp, sensitivity.cpp).
#pragma once

#include <memory>
#include <string>

#include "engine/api_errors-inl.h"
#include "model/model.h"
#include "runtime/model_resolver.h"

namespace tightfit {

// `model`: a folder or a Hugging Face repo id. Throws ModelNotFound / InvalidRequest("model").
inline std::unique_ptr<tf::Model> load_bare_model(const std::string& model, int threads,
                                                  bool offline) {
  tf::HubSettings hub = tf::hub_settings_from_env();
  hub.offline = hub.offline || offline;
  const tf::ResolvedModel source = as_api_errors(
      "model", [&] { return tf::resolve_model(model, hub, tf::DownloadOptions{}); });
  return as_api_errors("model", [&] { return tf::Model::load(source.dir.string(), threads); });
}

}  // namespace tightfit
