// This machine's memory read bandwidth, the roofline every weight-streaming kernel is measured
// against (bench/, `tightfit bench`).
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/thread_pool.h"

namespace tf {

// Sums `bytes` of p as 64-bit words (bytes a multiple of 64): one streaming read whose result
// the compiler cannot drop.
uint64_t stream_read(const uint8_t* p, size_t bytes);

// Best of `repeats` timed passes in which every pool thread reads its own slice of a
// `buffer_bytes` buffer (allocated and touched here; make it many times the last-level cache).
// Returns decimal GB/s (1e9 bytes per second).
double measure_read_bandwidth(ThreadPool& pool, size_t buffer_bytes = size_t{1} << 30,
                              int repeats = 5);

}  // namespace tf
