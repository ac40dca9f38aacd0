// `tightfit convert`: a Hugging Face Qwen3.5 checkpoint → an MLX-layout, mixed-precision one
// (convert_plan.h says what is written; this file writes it).
//
// Streaming: one output tensor at a time, a slab of rows at a time, read from the mmapped input
// and written straight to the sharded writer; input pages are released (madvise) as soon as a slab
// is done. Resident memory is the slab buffers (work_bytes) plus one tensor's scales and biases
// (1/16 of its bf16 size at group 32), independent of the model's size.
//
// Crash safety (quant/output_folder.h, shared with synth): everything is written into a hidden
// sibling folder (`.NAME.tightfit-partial-PID`, shards as `*.partial` until the writer finishes,
// config.json last) that is renamed to --out only when complete. An interrupted run never leaves a
// folder that looks like a model; --force replaces only a previous output, never other data.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "quant/convert_plan.h"
#include "quant/convert_progress.h"
#include "quant/mlx_affine.h"
#include "quant/model_summary.h"
#include "quant/recipe.h"
#include "storage/model_config.h"

namespace tf {

struct ConvertOptions {
  std::string hf_dir;
  std::string out_dir;  // not needed for plan_folder
  Recipe recipe = *builtin_recipe("dynamic");
  PlanOptions plan;
  bool force = false;  // replace an existing out_dir that is a previous output (output_folder.h)
  uint64_t max_shard_bytes = 5ull << 30;    // MLX's 5 GiB shards
  uint64_t work_bytes = 256ull << 20;       // slab buffers
  int threads = 0;                          // 0: one per hardware thread
  AffineRounding rounding = AffineRounding::HalfEven;
  std::FILE* progress = nullptr;  // where progress and notices go (nullptr: silent)
  bool progress_tty = false;      // redraw a bar in place (a terminal) or print plain lines
  // Set (by a signal handler) to stop: the run throws Cancelled (quant/cancelled.h) within a slab
  // and removes its unfinished output.
  const std::atomic<bool>* cancel = nullptr;
};

struct ConvertResult {
  ModelConfig config;
  ConvertPlan plan;
  ModelSummary summary;           // of the output, the MLX way (spec §5.7)
  bool from_config_only = false;  // planned from config.json alone (no safetensors present)
  std::vector<std::string> files; // written into out_dir: shards, index, copied files, config.json
  std::vector<std::string> skipped_files;  // auxiliary files not copied, with why
  uint64_t bytes_written = 0;     // tensor bytes
  double seconds = 0;
  int64_t peak_rss_bytes = 0;     // this process's high-water mark at the end
};

// Plans without reading weights: config.json, plus the safetensors headers when the folder has
// any (else the tensor list hf_tensor_specs derives from the config). For `--dry-run`.
ConvertResult plan_folder(const ConvertOptions& options);

// Plans and writes the conversion. Errors (bad input, unknown architecture, missing shard,
// corrupt file, rule matching nothing, no space) are std::runtime_error naming the culprit;
// nothing that looks like a model is left behind.
ConvertResult convert_checkpoint(const ConvertOptions& options);

// What loading the output costs: its weights (text; the vision tower only when an engine loads
// it) plus one sequence's state (KV cache of the attention layers, DeltaNet conv + recurrent
// state) for `context` tokens. Computed by runtime/memory_plan.h (load_memory_estimate), where
// the size formulas are written down, and handed to the report.
struct LoadMemoryEstimate {
  uint64_t text_weights = 0;
  uint64_t vision_weights = 0;
  uint64_t state = 0;
  int context = 0;
  std::string kv_type;  // of the KV cache counted in `state` ("f16", the engine's default)
  uint64_t total() const { return text_weights + vision_weights + state; }
};

// The end-of-run report: recipe rules and what they decided, the per-role table (parameters,
// bits, bytes), totals, MLX bits per weight, output size and expected memory at load.
std::string format_convert_report(const ConvertResult& result, const Recipe& recipe,
                                  const LoadMemoryEstimate& memory);

// The same as JSON (`convert --report-json`, tightfit::convert): the summary (summary_to_json)
// plus the recipe, plan, expected memory at load and, after a real run, the files written.
nlohmann::json convert_report_json(const ConvertResult& result, const Recipe& recipe, bool dry_run,
                                   const LoadMemoryEstimate& memory);

}  // namespace tf
