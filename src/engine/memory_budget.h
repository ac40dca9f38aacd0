// The engine's memory while it runs (issue 14; docs/engine.md "Memory"). The memory plan's fixed
// part (weights, buffers, every slot's DeltaNet state, the process) is held from load. What is
// left of the limit is shared by two users, in this order:
//   1. the KV caches: each running request reserves the KV of every token it may hold
//      (PreparedRequest::kv_tokens: prompt + max_tokens, at most the context) when the scheduler
//      admits it, and gives it back when it ends. A request whose reservation does not fit beside
//      the running ones waits in the queue; one that could not fit even alone was refused at
//      submit (OutOfMemory), as llama-server answers a request larger than its context with 400
//      and queues the ones that wait for a slot.
//   2. the prompt cache (engine/prompt_cache.h): elastic, it keeps saved prefixes in whatever
//      the reservations leave, up to its own budget, and evicts its least recently used entries
//      whenever an admission shrinks that room, before the new sequence grows.
// Not thread-safe: the scheduler calls it under its lock.
#pragma once

#include <cstdint>

#include "tightfit/plan.h"

namespace tightfit {

class MemoryBudget {
 public:
  // `plan`: the engine's plan at load; `prompt_cache_max`: EngineOptions::prompt_cache_bytes.
  MemoryBudget(const MemoryPlan& plan, uint64_t prompt_cache_max);

  // Whether `tokens` more KV tokens fit beside the reserved ones.
  bool fits_now(int64_t tokens) const;
  void reserve(int64_t tokens);
  void release(int64_t tokens);
  int64_t reserved_tokens() const { return reserved_; }

  // Bytes the prompt cache may hold now: its budget, or less when the limit minus the fixed
  // part and the reserved KV leaves less.
  uint64_t prompt_cache_room() const;

 private:
  uint64_t fixed_, per_token_, limit_, prompt_cache_max_;
  int64_t max_tokens_;  // KV tokens that fit the limit over all sequences
  int64_t reserved_ = 0;
};

}  // namespace tightfit
