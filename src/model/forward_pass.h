// The forward pass of a Qwen3.5 text model (spec §3.3) over one batch holding tokens of one or
// several sequences, with the buffers it reuses from call to call. Every weight is read once per
// batch: the dense parts (projections, shared expert, head) are one product over all rows, each
// routed expert one product over the rows that picked it (model/moe.h); the conv + delta rule
// and attention run per sequence, on its own state and rows. Decode steps of N sequences, and a
// prefill chunk of one next to decode tokens of others (continuous batching), are one call;
// a single sequence is the N = 1 case (model/session.h).
//
//   ForwardPass pass(model, {});
//   Sequence a(model, KVType::F16), b(model, KVType::F16);
//   const BatchItem items[] = {{.sequence = &a, .tokens = prompt},
//                              {.sequence = &b, .tokens = one_token}};
//   pass.run(items);
//   pass.logits(0);  // the last prompt token's logits, [vocab]
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "model/gated_attention.h"
#include "model/gated_deltanet.h"
#include "model/linear_tap.h"
#include "model/model.h"
#include "model/moe.h"
#include "model/rope.h"
#include "model/sequence.h"

namespace tf {

// Which of an item's rows get an output.
enum class OutputRows : uint8_t { None, Last, All };

// One sequence's tokens in a batch: token ids (text positions continue the sequence), or
// ready-made embeddings ([count][hidden], e.g. text with image features spliced in) with one
// rotary position each (spec §4.8).
struct BatchItem {
  Sequence* sequence = nullptr;
  std::span<const int32_t> tokens;
  std::span<const float> embeddings;
  std::span<const Position3> positions;
  // Logits (spec §3.8) and final hidden states of these rows: after the final norm, what the
  // head reads and what an MTP head takes (vLLM's Qwen3.5 MTP proposer; llama.cpp PR #24025
  // moved to the post-norm state). The head runs only on the logits rows.
  OutputRows logits = OutputRows::Last;
  OutputRows hidden = OutputRows::None;
  // Record what Sequence::rewind needs to return to any prefix of this batch (speculative
  // decoding): per DeltaNet layer the recurrent state before the batch (the state after it is
  // written to a second buffer, no copy) and each token's delta-rule inputs
  // (GatedDeltaNetHistory).
  bool keep_states = false;

  int64_t count() const { return tokens.empty() ? static_cast<int64_t>(positions.size())
                                                : static_cast<int64_t>(tokens.size()); }
};

struct ForwardOptions {
  // How quantized weights meet activations (kernels/linear.h).
  ActivationPrecision precision = default_activation_precision();
  // Optional: called with the input of every linear layer (model/linear_tap.h).
  LinearTapFn linear_tap;
};

class ForwardPass {
 public:
  ForwardPass(const Model& model, ForwardOptions options);

  // Appends every item's tokens to its sequence in one forward. Items name distinct sequences
  // of this model; an item without tokens is skipped. Token ids, embedding sizes and capacities
  // are checked before any state changes (std::out_of_range / std::invalid_argument /
  // std::length_error). Outputs stay valid until the next run.
  void run(std::span<const BatchItem> items);

  // Item i's logits ([rows][vocab], row-major) and final hidden states ([rows][hidden]) of the
  // rows it asked for (empty when none).
  std::span<const float> logits(size_t item) const;
  std::span<const float> hidden(size_t item) const;

  const Model& model() const { return model_; }
  const ForwardOptions& options() const { return options_; }

 private:
  struct Placed {  // where an item's rows and outputs are
    int64_t begin = 0, count = 0;
    int64_t logits_begin = 0, logits_rows = 0, hidden_begin = 0, hidden_rows = 0;
  };
  void prepare(std::span<const BatchItem> items);  // checks, embeddings, positions, placement
  void layers(std::span<const BatchItem> items);
  void outputs();  // final norm and head of the rows asked for

  const Model& model_;
  ForwardOptions options_;

  // Reused buffers.
  std::vector<Placed> placed_;
  std::vector<float> hidden_, normed_, branch_, logits_, final_hidden_;
  std::vector<Position3> positions_;
  std::vector<GatedDeltaNetRows> gdn_rows_;
  std::vector<GatedAttentionRows> attn_rows_;
  GatedDeltaNetScratch gdn_scratch_;
  GatedAttentionScratch attn_scratch_;
  MoeScratch moe_scratch_;
  MatmulScratch matmul_scratch_;
};

}  // namespace tf
