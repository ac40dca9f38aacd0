// The figures of one generation run and the one-line summary `generate` and `chat` print
// after it. Apart from the generation loop (runtime/generator.h) so that front ends on the
// public API (include/tightfit/tightfit.h) print the same line without the model layer.
#pragma once

#include <cstdint>
#include <string>

#include "runtime/speculative_stats.h"

namespace tf {

struct GenerationStats {
  int64_t prompt_tokens = 0;     // tokens prefilled in this run (reused ones not counted)
  int64_t reused_tokens = 0;     // prompt tokens already in the session
  double prompt_seconds = 0;
  int64_t generated_tokens = 0;  // tokens sampled, an EOS included
  double generation_seconds = 0; // from the end of the prefill to the last token
  uint64_t peak_rss_bytes = 0;
  // Images encoded by the vision tower for this run (before it: set by the caller, who encodes
  // them), reported apart because it can take longer than the prefill.
  int64_t images = 0;
  double vision_seconds = 0;
  // Speculative decoding (when it ran): drafts proposed / accepted, per position.
  SpeculativeStats speculative;

  double prompt_tokens_per_second() const;
  double generation_tokens_per_second() const;
};

// "prompt: 12 tokens, 340.5 tok/s | generation: 64 tokens, 51.2 tok/s | peak memory: 1.20 GB",
// after "vision: 1 image, 2.31 s | " when images were encoded, and " | drafts: …" after it
// when speculative decoding ran.
std::string format_stats(const GenerationStats& stats);

}  // namespace tf
