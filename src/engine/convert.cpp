// tightfit::convert (include/tightfit/convert.h) over the quant layer's converter.
#include "tightfit/convert.h"

#include <unistd.h>

#include <iostream>

#include <nlohmann/json.hpp>

#include "engine/api_errors-inl.h"
#include "quant/converter.h"
#include "runtime/memory_plan.h"
#include "runtime/model_resolver.h"
#include "storage/model_config.h"

namespace tightfit {

namespace {

tf::ConvertOptions converter_options(const ConvertOptions& o) {
  if (o.source.empty()) throw InvalidRequest("convert: the source model is required", "source");
  if (o.output.empty() && !o.dry_run)
    throw InvalidRequest("convert: the output folder is required (or plan only with dry_run)",
                         "output");
  if (o.group_size && !tf::is_valid_group_size(o.group_size))
    throw InvalidRequest("convert: group_size must be 32, 64 or 128", "group_size");
  if (o.dtype != "bf16" && o.dtype != "f16")
    throw InvalidRequest("convert: dtype must be \"bf16\" or \"f16\"", "dtype");

  tf::DownloadOptions download;
  if (o.progress) download.progress = &std::cerr;
  tf::ConvertOptions c;
  c.hf_dir = tf::resolve_model(o.source, tf::hub_settings_from_env(), download, "source").dir.string();
  c.out_dir = o.output;
  c.recipe = tf::Recipe::load(o.recipe);
  if (o.group_size) c.recipe.group_size = o.group_size;
  c.plan.text_only = o.text_only;
  c.plan.keep_mtp = o.keep_mtp;
  c.plan.dtype = o.dtype == "f16" ? tf::DType::F16 : tf::DType::BF16;
  c.force = o.force;
  c.threads = o.threads;
  if (o.progress) {
    c.progress = stderr;
    c.progress_tty = isatty(fileno(stderr));
  }
  c.cancel = o.cancel;
  return c;
}

}  // namespace

std::string convert(const ConvertOptions& options) {
  return as_api_errors("", [&] {
    const tf::ConvertOptions c = converter_options(options);
    const tf::ConvertResult result =
        options.dry_run ? tf::plan_folder(c) : tf::convert_checkpoint(c);
    return tf::convert_report_json(result, c.recipe, options.dry_run,
                                   tf::load_memory_estimate(result.config, result.plan, 4096))
        .dump();
  });
}

std::vector<std::pair<std::string, std::string>> builtin_recipes() {
  std::vector<std::pair<std::string, std::string>> out;
  for (const std::string& name : tf::builtin_recipe_names())
    out.emplace_back(name, tf::builtin_recipe(name)->description);
  return out;
}

}  // namespace tightfit
