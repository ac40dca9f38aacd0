// The guard the engine calls before a prefill and before a KV cache grows: it refuses a request
// the memory plan (runtime/memory_plan.h) says cannot fit the memory limit, with the plan's
// numbers, instead of letting the OS kill the process half-way (issue 14).
#pragma once

#include <cstdint>

#include "runtime/memory_plan.h"

namespace tf {

class MemoryGuard {
 public:
  // fixed: everything but the KV cache; per_token: KV bytes one cached token takes; limit:
  // bytes the process may use.
  MemoryGuard(uint64_t fixed, uint64_t per_token, uint64_t limit, const char* kv_name = "f16");
  explicit MemoryGuard(const MemoryPlan& plan, KVType kv_type = KVType::F16);

  // The most cached tokens (over all sequences) that fit; 0 when not even the fixed part fits.
  int64_t max_tokens() const;
  // Throws OutOfMemoryError unless `tokens` cached tokens over all sequences fit, e.g.
  //   "needs 12.9 GB for 40,000 cached tokens (fixed 11.2 GB + KV 1.7 GB at 42 KB/token, f16)
  //    but the memory limit is 12.5 GB: at most 30,000 tokens fit (try --kv-bits 4 or a shorter
  //    prompt / --max-tokens)".
  void check(int64_t tokens) const;

  uint64_t fixed() const { return fixed_; }
  uint64_t per_token() const { return per_token_; }
  uint64_t limit() const { return limit_; }

 private:
  uint64_t fixed_, per_token_, limit_;
  const char* kv_name_;
};

}  // namespace tf
