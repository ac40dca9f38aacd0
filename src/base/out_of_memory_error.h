// A request that the memory plan says cannot fit the memory limit (runtime/memory_guard.h).
// Bad input like InputError (CLI exit code 2, server 400): a shorter prompt, a smaller
// --max-tokens, a narrower KV cache or a higher --memory-limit fixes it. The message carries
// the plan's numbers.
#pragma once

#include "base/input_error.h"

namespace tf {

struct OutOfMemoryError : InputError {
  using InputError::InputError;
};

}  // namespace tf
