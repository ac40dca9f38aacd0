// config.json of a converted checkpoint (spec §5.5; see output_config in convert_plan.h).
//
// Why `false` entries: mlx-lm's load_model and mlx-vlm's class predicate look a module's path up
// in the block first and take `false` as "leave dense"; only without an entry do they fall back
// to "quantized iff <path>.scales exists". Either way a module we keep dense loads dense, but the
// explicit entry records the recipe's decision for readers (and for loaders with other
// fallbacks, e.g. mlx-vlm's skip of vision modules), and mlx-lm's own AWQ writer does the same.
#include "quant/convert_plan.h"

#include <nlohmann/json.hpp>

namespace tf {

using nlohmann::json;

json output_config(const ModelConfig& config, const ConvertPlan& plan) {
  json j = *config.raw;
  j.erase("_name_or_path");
  if (!plan.has_vision) j.erase("vision_config");  // as mlx-lm's save_config does
  const char* dtype = plan.dtype == DType::F16 ? "float16" : "bfloat16";
  for (json* scope : {&j, j.contains("text_config") ? &j["text_config"] : nullptr,
                      j.contains("vision_config") ? &j["vision_config"] : nullptr}) {
    if (!scope || !scope->is_object()) continue;
    for (const char* key : {"dtype", "torch_dtype"})
      if (scope->contains(key)) (*scope)[key] = dtype;
    if (!plan.has_mtp && scope->contains("mtp_num_hidden_layers")) (*scope)["mtp_num_hidden_layers"] = 0;
    scope->erase("quantization");
    scope->erase("quantization_config");
  }
  if (plan.quantization) {
    j["quantization"] = plan.quantization->to_json();
    j["quantization_config"] = j["quantization"];
  }
  return j;
}

}  // namespace tf
