// `tightfit synth`: a random-weight checkpoint at a model's real shapes, written directly in
// the quantized MLX layout a recipe gives (the same plan `convert` makes, quant/convert_plan.h),
// for measuring speed where the real weights are not available — speed depends on shapes, bit
// widths and code, not on weight values. Values: quant/synth_values.h.
//
// Streaming: tensors are generated a block at a time (several GB/s, blocks spread over the
// threads) and appended to the sharded writer, so memory stays bounded (a few blocks) however
// large the model; a full 40-layer Qwen3.5-35B-A3B `dynamic` checkpoint is ~11 GB.
// Deterministic: the same config, recipe, layers and seed give the same bytes, whatever the
// thread count. Like `convert`, output goes to a hidden sibling folder renamed into place at the
// end, so an interrupted run never leaves a folder that looks complete.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "quant/convert_plan.h"
#include "quant/recipe.h"
#include "storage/model_config.h"

namespace tf {

// Built-in config presets: the real configs of the models tightfit targets (synth_presets.cpp
// says where each comes from). "qwen3.5-35b-a3b" is the Hugging Face config.json of
// Qwen3.5-35B-A3B.
std::vector<std::string> synth_config_names();
std::optional<nlohmann::json> synth_config_preset(const std::string& name);

// A preset name, a config.json path, or a folder holding one. Throws naming the argument and
// the presets when it is none of them.
nlohmann::json load_synth_config(const std::string& name_or_path);

// The config with only the first `layers` decoder layers (real widths kept; layer_types cut to
// match, so the attention / linear-attention pattern stays that of the full model). `layers`
// must be in [1, num_hidden_layers].
nlohmann::json truncate_layers(const nlohmann::json& config, int layers);

struct SynthOptions {
  std::string out_dir;
  Recipe recipe = *builtin_recipe("dynamic");
  int layers = 0;       // > 0: keep only the first `layers` decoder layers
  bool mtp = false;     // also write the MTP head (mtp.*, docs/model.md §10.2) when the config has one
  uint64_t seed = 0;
  bool force = false;   // replace an existing out_dir that is a previous output (output_folder.h)
  DType dtype = DType::BF16;  // dense tensors, scales and biases (BF16 or F16)
  uint64_t max_shard_bytes = 5ull << 30;
  int threads = 0;      // 0: one per hardware thread
  std::FILE* progress = nullptr;  // progress and notices (nullptr: silent)
  bool progress_tty = false;
  const std::atomic<bool>* cancel = nullptr;  // as ConvertOptions::cancel
};

struct SynthResult {
  ModelConfig config;  // of the written model
  ConvertPlan plan;
  std::vector<std::string> files;
  uint64_t bytes_written = 0;
  double seconds = 0;
};

// The plan alone (no weights): what synth_checkpoint would write for `config`. Text model only
// (no vision tower, no MTP head), MLX (mlx-lm) naming.
ConvertPlan plan_synth(const nlohmann::json& config, const SynthOptions& options);

// Writes the checkpoint (config.json with the `quantization` block, shards, index). Errors
// (bad config, out_dir not empty without force, disk full) are std::runtime_error naming the
// culprit; nothing that looks like a model is left behind.
SynthResult synth_checkpoint(const nlohmann::json& config, const SynthOptions& options);

}  // namespace tf
