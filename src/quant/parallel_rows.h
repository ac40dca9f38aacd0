// ThreadPool::parallel_for with exceptions carried to the caller: the pool runs tasks on worker
// threads and does not propagate what they throw, so the first exception of any range is caught
// there and rethrown on the calling thread once all ranges are done.
#pragma once

#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>

#include "kernels/thread_pool.h"

namespace tf {

inline void parallel_rows(ThreadPool& pool, int64_t n, int64_t grain,
                          const std::function<void(int64_t begin, int64_t end)>& fn) {
  std::mutex mutex;
  std::exception_ptr error;
  pool.parallel_for(n, grain, [&](int64_t b, int64_t e, int) {
    try {
      fn(b, e);
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex);
      if (!error) error = std::current_exception();
    }
  });
  if (error) std::rethrow_exception(error);
}

}  // namespace tf
