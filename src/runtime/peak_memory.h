// Process memory figures for the stats line printed after each run.
#pragma once

#include <cstdint>
#include <string>

namespace tf {

// Peak resident set size (RSS high-water mark) of this process in bytes: VmHWM from
// /proc/self/status on Linux, getrusage(RUSAGE_SELF).ru_maxrss elsewhere (kilobytes on Linux,
// bytes on macOS). 0 if neither is available. The kernel updates its counters lazily, so the
// figure can lag the true peak by a few pages; fine for a stats line.
uint64_t peak_rss_bytes();

// Current resident set size in bytes (VmRSS); 0 where unavailable.
uint64_t current_rss_bytes();

// "1.23 GB" style, decimal units as mlx-lm prints them ("Peak memory: 19.1 GB").
std::string format_bytes(uint64_t bytes);

}  // namespace tf
