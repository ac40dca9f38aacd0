// engine/memory_budget.h: KV reservations within the plan's limit, the prompt cache's room what
// they leave (up to its budget).
#include <gtest/gtest.h>

#include <stdexcept>

#include "engine/memory_budget.h"

namespace tightfit {
namespace {

TEST(MemoryBudget, ReservationsFitTheLimitAndThePromptCacheGetsTheRest) {
  MemoryPlan plan;
  plan.fixed_bytes = 1000;
  plan.kv_bytes_per_token = 10;
  plan.limit = 2000;  // room for 100 tokens
  MemoryBudget budget(plan, 300);
  EXPECT_TRUE(budget.fits_now(100));
  EXPECT_FALSE(budget.fits_now(101));
  EXPECT_EQ(budget.prompt_cache_room(), 300u);  // its budget: less than the 1,000 B left
  budget.reserve(60);
  EXPECT_EQ(budget.prompt_cache_room(), 300u);  // 400 B left
  budget.reserve(30);
  EXPECT_EQ(budget.reserved_tokens(), 90);
  EXPECT_EQ(budget.prompt_cache_room(), 100u);  // what the reservations leave
  EXPECT_TRUE(budget.fits_now(10));
  EXPECT_FALSE(budget.fits_now(11));
  budget.reserve(10);
  EXPECT_EQ(budget.prompt_cache_room(), 0u);
  budget.release(100);
  EXPECT_EQ(budget.prompt_cache_room(), 300u);
  EXPECT_THROW(budget.release(1), std::logic_error);
  // A model that does not fit leaves nothing to anyone.
  plan.limit = 900;
  MemoryBudget none(plan, 300);
  EXPECT_FALSE(none.fits_now(1));
  EXPECT_EQ(none.prompt_cache_room(), 0u);
}

}  // namespace
}  // namespace tightfit
