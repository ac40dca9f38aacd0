// Per-module quantization sensitivity, for programs (`tightfit sensitivity`): runs the model over
// calibration token sequences and measures, for every linear module, the relative output error
// of quantizing that module alone at the given bits and group size (docs/model.md §5).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "tightfit/tightfit.h"

namespace tightfit {

struct SensitivityOptions {
  std::string model;           // a model folder or a Hugging Face repo id (bf16 weights measure best)
  int bits = 2;                // the quantization measured: 2, 3, 4, 5, 6 or 8 bits
  int group_size = 64;         // 32, 64 or 128
  int edge_layers = 0;         // layers at each end counted as edge (0: an eighth, at least 1)
  int threads = 0;             // 0 = every core
  bool offline = false;
  // Called once before the work with a warning worth showing (an already quantized model).
  std::function<void(const std::string& warning)> on_warning;
  // Called before each sequence runs, with its source name and token count.
  std::function<void(const std::string& source, int64_t tokens)> on_sequence;
};

struct CalibrationSequence {
  std::string source;          // where the ids came from, for messages ("calib.txt", "a.json:3")
  std::vector<int32_t> tokens;
};

struct SensitivityResult {
  std::string table;           // the report as a text table
  std::string json;            // the report as JSON text
  std::string csv;             // one line per module
};

// Throws InvalidRequest (bad options; a token id outside the vocabulary, naming its source),
// ModelNotFound, std::runtime_error for unreadable or corrupt files.
SensitivityResult measure_sensitivity(const SensitivityOptions& options,
                                      const std::vector<CalibrationSequence>& sequences);

}  // namespace tightfit
