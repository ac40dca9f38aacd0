// The counters of speculative decoding (runtime/speculative_decoding.h) and their summary, apart
// from the decoder so that the stats line (runtime/generation_stats.h) needs no model header.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tf {

// Drafts proposed and accepted, overall and per draft position (index 0 = d_1).
struct SpeculativeStats {
  int64_t steps = 0;
  int64_t drafts_proposed = 0;
  int64_t drafts_accepted = 0;
  std::vector<int64_t> proposed_at, accepted_at;

  double acceptance_rate() const;
  // Tokens emitted per verify step (accepted drafts + the bonus token).
  double tokens_per_step() const;
  // "drafts: 120 proposed, 84 accepted (70.0 %; by position 81 % 59 %), 2.40 tokens/step"
  std::string summary() const;
};

}  // namespace tf
