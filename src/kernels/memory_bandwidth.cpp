#include "kernels/memory_bandwidth.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <memory>
#include <vector>

namespace tf {

uint64_t stream_read(const uint8_t* p, size_t bytes) {
  // Eight independent sums per cache line keep many loads in flight; memory is the limit.
  uint64_t a[8] = {};
  for (size_t off = 0; off + 64 <= bytes; off += 64) {
    uint64_t w[8];
    std::memcpy(w, p + off, 64);
    for (int i = 0; i < 8; ++i) a[i] += w[i];
  }
  return a[0] ^ a[1] ^ a[2] ^ a[3] ^ a[4] ^ a[5] ^ a[6] ^ a[7];
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
