// tightfit's memory plan, public API: what a model takes in memory before it runs — weights by
// role, the vision tower, runtime buffers, the KV cache at a context, the Gated DeltaNet state
// per sequence and the process — against a memory limit, and the largest context that fits per
// KV cache width. The prompt cache is elastic (it uses what the KV caches leave, up to its
// budget), so it is shown but not counted. `tightfit plan` prints it; the engine checks requests
// against it (a request that cannot fit is refused with tightfit::OutOfMemory, never an OOM
// kill); the Python module wraps it. Works from a model folder (the checkpoint's headers, no
// weights read) or from a config.json and a quantization recipe before converting.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tightfit/tightfit.h"

namespace tightfit {

struct PlanOptions {
  // A model folder with safetensors (sizes from their headers), or a config.json / a folder
  // holding only config.json (sizes planned through `recipe`, as `convert --dry-run` would).
  std::string model;
  std::string recipe = "dynamic";  // config-only plans: a built-in recipe name or a JSON file
  uint64_t memory = 0;             // bytes of memory; 0 = this machine (cgroup limit or RAM)
  int64_t reserve = -1;            // bytes left to the OS; −1 = 3.5 GB, at most a quarter
  int kv_bits = 16;                // 32, 16, 8, 4, 2
  int kv_group_size = 64;
  int64_t context = 0;             // tokens per sequence; 0 = the model's context length
  int parallel = 1;                // sequences held at once
  bool vision = true;              // count the vision tower (when the model has one)
  int prefill_chunk = 256;         // prompt tokens per forward batch
  uint64_t prompt_cache_bytes = 0;  // saved prefix states the engine may keep (elastic)
  int threads = 0;                 // worker threads (0 = every core)
  // Speculative decoding's drafts per step (0 = off). On a model with an MTP head the head's
  // one-layer KV cache joins the KV per token and each sequence's verify and draft buffers
  // join the fixed part.
  int draft_tokens = 0;
  // Count this process's resident memory now as the process term, and the runtime's measured
  // constant (true for a plan made by the process that will run the model, or by `tightfit
  // plan` for a `tightfit` run; false: the model's own memory only).
  bool count_this_process = true;
};

struct PlanItem {
  std::string name;
  uint64_t bytes = 0;
  bool file_backed = false;  // mmapped weights: page cache, not anonymous memory
};

struct PlanKVWidth {
  int bits = 16;
  uint64_t bytes_per_token = 0;
  std::vector<uint64_t> total_at;  // plan total at each of MemoryPlan::context_columns
  int64_t max_context = 0;         // largest context per sequence that fits the limit
};

struct MemoryPlan {
  std::string model;
  std::string weights_from;  // "checkpoint" or "config + recipe <name>"
  std::vector<PlanItem> items;
  uint64_t total = 0;        // sum of items
  uint64_t memory = 0, reserve = 0, limit = 0;  // limit = memory − reserve
  uint64_t text_weight_bytes = 0, vision_weight_bytes = 0;
  uint64_t fixed_bytes = 0;  // everything but the KV cache
  // The prompt cache's budget: it uses at most this of the headroom and gives it back when
  // sequences need it (not in `items` or `total`).
  uint64_t prompt_cache_bytes = 0;
  uint64_t kv_bytes_per_token = 0;
  uint64_t deltanet_bytes_per_sequence = 0;
  // Speculative decoding (PlanOptions::draft_tokens on a model with an MTP head; else 0): the
  // head's KV per token (part of kv_bytes_per_token) and a sequence's verify and draft buffers
  // (part of fixed_bytes, once per parallel sequence).
  int draft_tokens = 0;
  uint64_t mtp_kv_bytes_per_token = 0;
  uint64_t speculative_bytes_per_sequence = 0;
  int kv_bits = 16;
  int64_t context = 0;
  int parallel = 1;
  int64_t model_context = 0;
  std::vector<int64_t> context_columns;  // 32K, 64K, 100K
  std::vector<PlanKVWidth> kv_widths;    // 16, 8, 4, 2 bits

  bool fits() const { return total <= limit; }
  int64_t headroom() const { return static_cast<int64_t>(limit) - static_cast<int64_t>(total); }
  // The largest number of tokens held over all sequences that fits the limit at kv_bits.
  int64_t max_tokens() const;
  // Throws OutOfMemory with the plan's numbers unless `tokens` cached tokens (over all
  // sequences) fit the limit.
  void check_tokens(int64_t tokens) const;

  std::string to_text() const;  // the table `tightfit plan` prints
  std::string to_json() const;  // the same as a JSON object (`tightfit plan --json`)
};

// Throws ModelNotFound (no such folder / config), InvalidRequest (bad option, unknown recipe).
MemoryPlan plan_memory(const PlanOptions& options);

// "16GB", "3.5 GB", "512MiB", "1e9", "2048M" → bytes (decimal GB, binary GiB); throws
// InvalidRequest naming `what` otherwise.
uint64_t parse_byte_size(const std::string& text, const std::string& what);

}  // namespace tightfit
