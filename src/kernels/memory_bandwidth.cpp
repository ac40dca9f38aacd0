#include "kernels/memory_bandwidth.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <memory>
#include <vector>

namespace tf {

uint64_t stream_read(const uint8_t* p, size_t bytes) {
  // Eight independent sums of 8-byte loads per cache line keep many loads in flight (and stay
  // in registers); memory is the limit, not this loop.
  auto word = [p](size_t at) {
    uint64_t v;
    std::memcpy(&v, p + at, 8);
    return v;
  };
  uint64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0;
  for (size_t off = 0; off + 64 <= bytes; off += 64) {
    a0 += word(off);
    a1 += word(off + 8);
    a2 += word(off + 16);
    a3 += word(off + 24);
    a4 += word(off + 32);
    a5 += word(off + 40);
    a6 += word(off + 48);
    a7 += word(off + 56);
  }
  return a0 ^ a1 ^ a2 ^ a3 ^ a4 ^ a5 ^ a6 ^ a7;
}

double measure_read_bandwidth(ThreadPool& pool, size_t buffer_bytes, int repeats) {
  buffer_bytes = std::max<size_t>(buffer_bytes / 4096 * 4096, 4096);
  std::unique_ptr<uint8_t[]> buf(new uint8_t[buffer_bytes]);
  const int threads = pool.num_threads();
  const size_t slice = buffer_bytes / threads / 64 * 64;
  // Touch every page from the thread that will read it (first-touch placement).
  pool.run(threads, [&](int64_t t, int) { std::memset(buf.get() + t * slice, int(t) + 1, slice); });
  std::vector<uint64_t> sink(threads);
  double best = 0.0;
  for (int r = 0; r < repeats; ++r) {
    const auto start = std::chrono::steady_clock::now();
    pool.run(threads, [&](int64_t t, int) { sink[t] += stream_read(buf.get() + t * slice, slice); });
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    best = std::max(best, static_cast<double>(slice * threads) / s / 1e9);
  }
  volatile uint64_t keep = 0;
  for (uint64_t v : sink) keep = keep + v;
  (void)keep;
  return best;
}

}  // namespace tf
