// Converting a Hugging Face Qwen3.5 checkpoint into a mixed-precision MLX-layout one, for
// programs (the Python module's tightfit.convert) — what `tightfit convert` does on the
// command line. Recipes and their rules: docs/ and `tightfit convert --list-recipes`.
#pragma once

#include <atomic>
#include <string>
#include <vector>

#include "tightfit/tightfit.h"

namespace tightfit {

struct ConvertOptions {
  std::string source;               // a Hugging Face folder or repo id ("org/name[@revision]")
  std::string output;               // the folder to write (not needed for dry_run)
  std::string recipe = "dynamic";   // a built-in recipe's name or a recipe JSON file
  int group_size = 0;               // for rules that give none: 32, 64 or 128; 0 = the recipe's
  std::string dtype = "bf16";       // dense tensors, scales and biases: "bf16" or "f16"
  bool text_only = false;           // drop the vision tower
  bool keep_mtp = false;            // keep the MTP head (mtp.*), quantized by the same rules
  bool dry_run = false;             // plan only: read config.json and headers, write nothing
  bool force = false;               // replace `output` if it is a previous tightfit output
  int threads = 0;                  // 0 = every core
  bool progress = false;            // progress lines on stderr
  const std::atomic<bool>* cancel = nullptr;  // set to stop; the unfinished output is removed
};

// Plans (and unless dry_run writes) the conversion and returns its report as JSON text — the
// object `tightfit convert --report-json` writes (per-role table, bits per weight, output size,
// memory at load, files written). Throws InvalidRequest for bad options, a recipe that does not
// parse or an output folder tightfit may not replace; ModelNotFound; std::runtime_error for
// failures of the work itself (corrupt input, no space, cancelled).
std::string convert(const ConvertOptions& options);

// The built-in recipes: name and one-line description.
std::vector<std::pair<std::string, std::string>> builtin_recipes();

}  // namespace tightfit
