// MemoryBudget (engine/memory_budget.h).
#include "engine/memory_budget.h"

#include <algorithm>
#include <stdexcept>

namespace tightfit {

MemoryBudget::MemoryBudget(const MemoryPlan& plan, uint64_t prompt_cache_max)
    : fixed_(plan.fixed_bytes),
      per_token_(plan.kv_bytes_per_token),
      limit_(plan.limit),
      prompt_cache_max_(prompt_cache_max),
      max_tokens_(plan.max_tokens()) {}

bool MemoryBudget::fits_now(int64_t tokens) const {
  return tokens <= max_tokens_ - reserved_;
}

void MemoryBudget::reserve(int64_t tokens) { reserved_ += tokens; }

void MemoryBudget::release(int64_t tokens) {
  if (tokens > reserved_) throw std::logic_error("MemoryBudget::release: more than reserved");
  reserved_ -= tokens;
}

uint64_t MemoryBudget::prompt_cache_room() const {
  const uint64_t held = fixed_ + per_token_ * static_cast<uint64_t>(reserved_);
  const uint64_t left = limit_ > held ? limit_ - held : 0;
  return std::min(prompt_cache_max_, left);
}

}  // namespace tightfit
