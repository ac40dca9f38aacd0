// --mlock (EngineOptions::mlock): the checkpoint's mmapped files locked in memory with mlock(2),
// so the kernel never drops the weights' pages under memory pressure (a dropped page is read
// back from disk at the next forward pass: a stall of seconds on a large model). The pages are
// read in now. Locked memory is capped by RLIMIT_MEMLOCK (`ulimit -l`, 8 MB by default on many
// systems) unless the process has CAP_IPC_LOCK; munmap unlocks, so closing the checkpoint ends
// the lock.
#pragma once

#include <cstdint>

#include "storage/safetensors.h"

namespace tf {

// Locks every file of `checkpoint`; returns the bytes locked. Throws OutOfMemoryError naming
// RLIMIT_MEMLOCK, its value and `ulimit -l` when the system refuses.
uint64_t lock_in_memory(const Checkpoint& checkpoint);

}  // namespace tf
