// MemoryGuard (runtime/memory_guard.h).
#include "runtime/memory_guard.h"

#include <string>

#include "base/out_of_memory_error.h"
#include "quant/model_summary.h"
#include "runtime/peak_memory.h"

namespace tf {

MemoryGuard::MemoryGuard(uint64_t fixed, uint64_t per_token, uint64_t limit, const char* kv_name)
    : fixed_(fixed), per_token_(per_token), limit_(limit), kv_name_(kv_name) {}

MemoryGuard::MemoryGuard(const MemoryPlan& plan, KVType kv_type)
    : MemoryGuard(plan.fixed_bytes, plan.kv_bytes_per_token, plan.limit_bytes,
                  kv_type_name(kv_type)) {}

int64_t MemoryGuard::max_tokens() const {
  if (limit_ <= fixed_) return 0;
  if (per_token_ == 0) return INT64_MAX;
  return static_cast<int64_t>((limit_ - fixed_) / per_token_);
}

void MemoryGuard::check(int64_t tokens) const {
  const uint64_t kv = per_token_ * static_cast<uint64_t>(tokens > 0 ? tokens : 0);
  if (fixed_ + kv <= limit_) return;
  std::string msg = "out of memory: " + with_commas(static_cast<uint64_t>(tokens)) +
                    " cached tokens need " + format_bytes(fixed_ + kv) + " (model and buffers " +
                    format_bytes(fixed_) + " + KV cache " + format_bytes(kv) + " at " +
                    format_bytes(per_token_) + "/token, " + kv_name_ +
                    ") but the memory limit is " + format_bytes(limit_);
  const int64_t fit = max_tokens();
  if (fit > 0)
    msg += ": at most " + with_commas(static_cast<uint64_t>(fit)) +
           " tokens fit (shorten the prompt or --max-tokens, use --kv-bits 4, or raise "
           "--memory-limit)";
  else
    msg += ": the model alone does not fit (raise --memory-limit or use a smaller model)";
  throw OutOfMemoryError(msg);
}

}  // namespace tf
