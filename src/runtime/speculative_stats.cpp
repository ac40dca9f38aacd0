#include "runtime/speculative_stats.h"

#include <cstdio>

namespace tf {

double SpeculativeStats::acceptance_rate() const {
  return drafts_proposed > 0 ? static_cast<double>(drafts_accepted) / drafts_proposed : 0.0;
}

double SpeculativeStats::tokens_per_step() const {
  return steps > 0 ? static_cast<double>(drafts_accepted + steps) / steps : 0.0;
}

std::string SpeculativeStats::summary() const {
  char line[160];
  std::snprintf(line, sizeof line, "drafts: %lld proposed, %lld accepted (%.1f %%",
                static_cast<long long>(drafts_proposed), static_cast<long long>(drafts_accepted),
                100.0 * acceptance_rate());
  std::string out = line;
  if (proposed_at.size() > 1) {
    out += "; by position";
    for (size_t j = 0; j < proposed_at.size(); ++j) {
      std::snprintf(line, sizeof line, " %.0f %%",
                    proposed_at[j] ? 100.0 * accepted_at[j] / proposed_at[j] : 0.0);
      out += line;
    }
  }
  std::snprintf(line, sizeof line, "), %.2f tokens/step", tokens_per_step());
  return out + line;
}

}  // namespace tf
