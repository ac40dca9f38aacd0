// The memory a run of a model takes, written down once (issue 14): weights by role, the vision
// tower, the runtime buffers of a forward batch, the KV cache per token, the Gated DeltaNet state
// per sequence and the process itself; and the largest context that fits a memory limit per KV
// width. The prompt cache is elastic: it keeps saved prefixes in what the KV caches leave of the
// limit, up to its budget, and gives them back when a sequence needs the room
// (engine/memory_budget.h), so it is not part of what must fit. `tightfit plan`, the guard that refuses requests which cannot
// fit (runtime/memory_guard.h), `bench`'s bytes per step and the public plan API
// (include/tightfit/plan.h) all read these formulas.
//
// Weights are mmapped: their pages are page cache (file-backed, counted in RSS once touched, and
// dropped by the kernel under pressure instead of swapped); everything else is anonymous memory.
// The KV caches reserve their whole capacity as address space but take memory only as rows are
// written (model/gated_attention_kv_cache.h), so the plan counts the KV bytes of the tokens held.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kernels/ops_attention.h"
#include "model/interleaved_weights.h"
#include "quant/convert_plan.h"
#include "quant/converter.h"
#include "quant/model_summary.h"
#include "storage/model_config.h"

namespace tf {

// ---- Size formulas (bytes) --------------------------------------------------------------------

// KV cache bytes one token adds to a sequence: keys and values of every kv head of every
// full-attention layer, rows of `type` (kv_row_bytes; quantized: the group as the cache uses it,
// kv_group_for).
uint64_t kv_bytes_per_token(const TextConfig& c, KVType type, int group_size);
// KV cache bytes one token adds to the MTP head's own cache when a sequence speculates: one
// full-attention layer's keys and values (docs/model.md §10.4; 2 KiB/token in f16 at 35B-A3B).
uint64_t mtp_kv_bytes_per_token(const TextConfig& c, KVType type, int group_size);
// What a sequence that speculates with `drafts` drafts per step holds beside its KV caches
// (runtime/speculative_decoding.h): what the DeltaNet layers record for a rewind (keep_states:
// the recurrent state before the batch, the verify rows' conv rows and delta-rule inputs;
// GatedDeltaNetHistory), the verify rows' logits and
// hidden states beyond the one row a plain step has, and the MTP head's buffers for a catch-up
// of `chunk` rows (a prompt chunk) and one row of draft logits.
uint64_t speculative_bytes_per_sequence(const TextConfig& c, int drafts, int64_t chunk);
// Gated DeltaNet state of one sequence (fixed, whatever its length): per linear-attention layer
// the float32 recurrent state Hv·Dk·Dv and the conv window (K − 1)·conv_dim.
uint64_t deltanet_state_bytes(const TextConfig& c);
// Float32 scratch of one forward batch of `tokens` rows (model/forward_pass.cpp, moe.cpp,
// gated_attention.cpp, gated_deltanet.cpp): the residual stream and its norms, the largest
// layer's buffers (attention or DeltaNet, MoE with k routed rows per token), the logits of the
// last row.
struct ActivationBytes {
  uint64_t residual = 0;   // hidden, normed, branch
  uint64_t attention = 0;  // the larger of full attention's and DeltaNet's buffers
  uint64_t moe = 0;        // router, routed rows, expert products, shared expert
  uint64_t logits = 0;     // vocab floats of the rows that want logits (one per sequence)
  uint64_t total() const { return residual + attention + moe + logits; }
};
ActivationBytes activation_bytes(const TextConfig& c, int64_t tokens, int sequences);

// ---- The plan ---------------------------------------------------------------------------------

// What a run adds to the process beyond the items above, whatever the model: the code of the
// forward pass, kernels and tokenizer paged in as it runs, the tokenizer's tables and the model's
// small objects (float copies of norms, configs). Measured: `tightfit generate` on
// models/tiny-random peaks 3.0–3.6 MB above its own weights, buffers and KV cache plus the RSS a
// fresh `tightfit plan` process has (x86-64 Release build, glibc; tests/cli/plan_cli_test.cpp
// holds the plan to 10 % of such runs).
inline constexpr uint64_t kRuntimeBytes = 3'200'000;

struct MemoryPlanOptions {
  KVType kv_type = KVType::F16;
  int kv_group_size = 64;
  int64_t context = 0;        // tokens per sequence; 0: the model's max_position_embeddings
  int parallel = 1;           // sequences held at once
  int64_t prefill_chunk = 256;  // tokens per forward batch
  int threads = 1;
  bool vision = true;         // count the vision tower (when the weights have one)
  // The matrices the model will re-lay out in anonymous memory at load where they fit
  // (model/interleaved_weights.h: interleaved_matrices_for): their bytes are then not page cache.
  InterleavedMatrices interleaved = InterleavedMatrices::None;
  uint64_t prompt_cache_bytes = 0;  // the prompt cache's most (elastic: not counted in the total)
  uint64_t process_base_bytes = 0;  // the process before loading (binary, libraries, allocator)
  bool count_runtime = true;        // add kRuntimeBytes (false: a plan of the model alone)
  // Speculative decoding's drafts per step (0: off). With an MTP head in the weights, the
  // head's KV joins every token's KV and each sequence holds speculative_bytes_per_sequence.
  int draft_tokens = 0;
  uint64_t memory_total = 0;  // bytes of memory the process may use (0: this machine's)
  int64_t reserve_bytes = -1; // left for the OS and other programs (−1: default_reserve)
};

struct MemoryPlanLine {
  std::string name;      // "weights: routed_experts", "KV cache (q4, 32768 tokens × 1)", ...
  uint64_t bytes = 0;
  bool file_backed = false;  // page cache of the mmapped weights (else anonymous memory)
};

struct KVWidthFit {
  KVType type = KVType::F16;
  uint64_t bytes_per_token = 0;
  std::vector<uint64_t> total_at;  // total plan bytes at each of MemoryPlan::context_columns
  int64_t max_context = 0;         // largest context per sequence that fits (0: none)
};

struct MemoryPlan {
  std::vector<MemoryPlanLine> lines;
  uint64_t text_weight_bytes = 0, vision_weight_bytes = 0;
  uint64_t kv_bytes_per_token = 0, deltanet_bytes_per_sequence = 0;
  // Speculative decoding (MemoryPlanOptions::draft_tokens on a model with an MTP head; else 0):
  // the head's KV per token (included in kv_bytes_per_token) and each sequence's scratch
  // (included in fixed_bytes).
  int draft_tokens = 0;
  uint64_t mtp_kv_bytes_per_token = 0, speculative_bytes_per_sequence = 0;
  int64_t context = 0;  // per sequence
  int parallel = 1;
  uint64_t total_bytes = 0;   // sum of lines
  uint64_t limit_bytes = 0;   // memory_total − reserve
  uint64_t memory_total = 0, reserve_bytes = 0;
  int64_t model_context = 0;  // max_position_embeddings
  std::vector<int64_t> context_columns;  // 32K, 64K, 100K (and the asked context)
  std::vector<KVWidthFit> widths;        // f16, q8, q4, q2
  // Everything but the KV cache: what is held whatever the context.
  uint64_t fixed_bytes = 0;
  // The prompt cache's budget: it takes at most this much of the headroom, and less when the
  // KV caches need it (elastic, so neither in the lines nor in the total).
  uint64_t prompt_cache_bytes = 0;

  bool fits() const { return total_bytes <= limit_bytes; }
  int64_t headroom() const {
    return static_cast<int64_t>(limit_bytes) - static_cast<int64_t>(total_bytes);
  }
};

// Weights of a model by role: a checkpoint's headers (summarize_model of its tensors), or a
// config planned through a recipe before converting (convert's dry-run computation).
ModelSummary weights_of_checkpoint(const std::string& dir);
ModelSummary weights_of_config(const ModelConfig& config, const std::string& recipe);

MemoryPlan plan_memory(const ModelConfig& config, const ModelSummary& weights,
                       const MemoryPlanOptions& options);

// Convert's report of what loading its output costs (quant/converter.h): the planned tensors'
// bytes (text, vision; the MTP head is not loaded by default) and one sequence's KV (`kv_type`)
// and DeltaNet state at `context` tokens, from the formulas above.
LoadMemoryEstimate load_memory_estimate(const ModelConfig& config, const ConvertPlan& plan,
                                        int context, KVType kv_type = KVType::F16);

// Memory this process may use: the cgroup limit (memory.max, v2 or v1) when lower than physical
// memory (MemTotal), else physical memory. 0 when neither can be read.
uint64_t available_memory_total();
// The reserve left to the OS when none is asked: 3.5 GB (a desktop's share on a 16 GB machine,
// the model card's figure), at most a quarter of `total`.
uint64_t default_reserve(uint64_t total);

}  // namespace tf
