// The tensor-by-tensor plan of an HF → MLX conversion (spec §2.1, §5): which output tensors
// exist, where their rows come from in the input, how values are transformed, and what the
// recipe decided for each module. Planning reads no weights: it works on tensor descriptions
// (a checkpoint's headers, or hf_tensor_specs() of a config for `--dry-run`), so the report of a
// dry run and of a real conversion are the same computation.
//
// Transformations (the MLX sanitizers', spec §2.1):
//  - names: `model.language_model.` → `language_model.model.`, `lm_head` →
//    `language_model.lm_head`, `model.visual.` → `vision_tower.`; `mtp.*` keeps its name;
//  - zero-centred norms (input/post-attention, final, q/k norm, MTP norms) get +1 baked in;
//  - conv1d [C, 1, K] → [C, K, 1] (same bytes);
//  - experts: fused gate_up_proj split into switch_mlp.gate_proj / up_proj, down_proj renamed,
//    per-expert tensors stacked in expert order;
//  - vision patch-embed [O, C, T, kh, kw] → [O, T, kh, kw, C];
//  - dropped: mtp.* (unless keep_mtp), lm_head when tied, vision for text_only,
//    position_ids / inv_freq buffers;
//  - A_log keeps its dtype (MLX's cast_predicate); every other float tensor takes `dtype`.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "quant/recipe.h"
#include "quant/tensor_roles.h"
#include "storage/dtype.h"
#include "storage/model_config.h"
#include "storage/tensor.h"

namespace tf {

enum class PlanTransform : uint8_t {
  Copy,        // values converted to the output dtype
  KeepDtype,   // bytes copied unchanged (A_log)
  AddOne,      // 1 + w (zero-centred RMSNorm weights)
  PatchEmbed,  // [O, C, T, kh, kw] → [O, T, kh, kw, C], converted to the output dtype
};

// Elements [offset, offset + count) of an input tensor (row-major). Quantized outputs take
// whole rows: their ranges are multiples of the output's last dimension.
struct SourceRange {
  std::string tensor;  // input (HF) tensor name as stored
  int64_t offset = 0;
  int64_t count = 0;
};

struct PlannedTensor {
  std::string name;    // MLX tensor name of the dense tensor (`….weight`, `….bias`, `…A_log`)
  std::string module;  // path recipes and config.json use: name without `.weight` / `.bias`
  ModuleInfo info;     // what recipe rules see
  TensorRole role = TensorRole::Other;  // as reports count it (`mtp.*` → Mtp)
  std::vector<int64_t> shape;           // dense MLX shape
  DType source_dtype = DType::BF16;
  DType dtype = DType::BF16;            // dense output dtype
  PlanTransform transform = PlanTransform::Copy;
  std::vector<SourceRange> sources;        // concatenated in order
  bool quantizable = false;             // the weight of a Linear / Embedding / SwitchLinear

  // Decided by the recipe.
  int rule = -1;        // index of the deciding rule, −1 when none matched
  int bits = 0;         // > 0: MLX affine quantized with bits / group_size
  int group_size = 0;
  std::string kept_because;  // why a quantizable tensor stays dense

  bool quantized() const { return bits > 0; }
  int64_t cols() const { return shape.back(); }
  int64_t rows() const { return shape_numel(shape) / shape.back(); }
  // The tensors written: `.weight` (U32), `.scales`, `.biases` (scale_dtype) when quantized,
  // else the dense tensor.
  std::vector<TensorSpec> outputs(DType scale_dtype) const;
};

struct PlanOptions {
  bool text_only = false;  // drop the vision tower, write an mlx-lm style checkpoint
  bool keep_mtp = false;   // keep mtp.* (quantized by the same rules)
  DType dtype = DType::BF16;  // output float dtype (BF16 or F16), also of scales and biases
  int group_size = 0;      // > 0: replaces the recipe's default group size
};

struct ConvertPlan {
  std::vector<PlannedTensor> tensors;  // write order (sorted by name)
  std::vector<std::string> dropped;    // "name: why" for input tensors not written
  std::vector<std::string> warnings;
  std::vector<int> rule_modules;       // per recipe rule: modules it decided
  bool has_vision = false;             // vision tower written
  bool has_mtp = false;                // mtp.* written
  DType dtype = DType::BF16;
  std::optional<QuantizationConfig> quantization;  // nullopt when nothing is quantized

  std::vector<TensorSpec> output_specs() const;
  uint64_t input_bytes() const;   // bytes read from the input
  uint64_t output_bytes() const;  // bytes of the tensors written
};

// Input names in the one HF spelling the plan works with: `model.language_model.visual.` →
// `model.visual.`, and text-only causal-LM names `model.layers.…` → `model.language_model.layers.…`.
std::string canonical_hf_name(const std::string& name);

// What the input holds besides the text model, once checked against the config.
struct InputCheck {
  bool has_vision = false;
  bool has_mtp = false;
  std::vector<std::string> ignored;  // buffers (position_ids, inv_freq) that are not weights
};
// Checks input tensors against hf_tensor_specs(config) (either expert form): throws a
// std::runtime_error naming unknown tensors, wrong shapes, non-float dtypes and missing tensors.
// A vision tower or MTP head may be absent as a whole, not in part.
InputCheck check_input_tensors(const std::vector<TensorSpec>& input, const ModelConfig& config);

// Plans the conversion of a Hugging Face checkpoint whose tensors are `input` (as stored:
// names, dtypes, shapes). Checks them against the config first (hf_tensor_specs): an unknown
// tensor, a wrong shape, a non-float dtype or a missing tensor is a std::runtime_error naming
// it. A recipe rule that decides no module is an error unless the rule is `optional` (presets);
// quantizable modules no rule matches, and modules whose input dimension the group size does not
// divide, stay dense with a warning (MLX skips the latter the same way).
ConvertPlan plan_conversion(const std::vector<TensorSpec>& input, const ModelConfig& config,
                            const Recipe& recipe, const PlanOptions& options);

// The config.json of the output: the input's, with `quantization` and an identical
// `quantization_config` (defaults + one entry per module that differs: a {group_size, bits}
// dict, or false for a quantizable module kept dense), `dtype` fields set to the output dtype,
// `vision_config` removed when no vision tower is written (as mlx-lm's save_config does) and
// `mtp_num_hidden_layers` set to 0 when mtp.* is dropped (so an MTP-aware loader does not look
// for weights that are not there).
nlohmann::json output_config(const ModelConfig& config, const ConvertPlan& plan);

// Architectures `convert` understands (Qwen3.5 and Qwen3.5-MoE, conditional-generation or causal-LM
// checkpoints); throws naming the config's `architectures` / `model_type` otherwise. Call it on
// the raw config.json before parsing it as a ModelConfig, whose errors would be less clear.
void check_supported_architecture(const nlohmann::json& config, const std::string& source);

}  // namespace tf
