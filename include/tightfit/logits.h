// Logits of a token sequence straight from the weights, for comparisons with other engines and
// references (`tightfit logits`): no tokenizer needed, so a bare checkpoint (config.json and
// safetensors, as the test fixtures are) works. Engine::score does the same for a loaded
// engine, batched with its running requests.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "tightfit/tightfit.h"

namespace tightfit {

struct LogitsOptions {
  std::string model;            // a model folder or a Hugging Face repo id (as EngineOptions)
  int threads = 0;              // 0 = every core
  std::string kv_type = "f16";  // KV cache element type (EngineOptions::kv_type's names)
  int kv_group_size = 64;
  int64_t prefill_chunk = 256;  // tokens per forward batch
  // true: one decode step per token instead of batched prefill (the two agree to rounding;
  // comparing them checks the decode path).
  bool decode_steps = false;
  bool offline = false;
};

struct Logits {
  int64_t rows = 0, vocab = 0;
  std::vector<float> values;   // [rows][vocab], row-major
  std::string layout;          // as ModelInfo::layout
  int64_t layers = 0;
  int threads = 0;             // worker threads used
  double load_ms = 0, forward_ms = 0;
};

// Runs `tokens` through a fresh sequence and returns the logits of every position. Throws
// ModelNotFound, InvalidRequest (bad options, a token outside the vocabulary, naming it),
// std::runtime_error for unreadable or corrupt files.
Logits compute_logits(const LogitsOptions& options, std::span<const int32_t> tokens);

}  // namespace tightfit
