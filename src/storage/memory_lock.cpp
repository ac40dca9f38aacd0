// lock_in_memory (storage/memory_lock.h).
#include "storage/memory_lock.h"

#include <sys/mman.h>
#include <sys/resource.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "base/out_of_memory_error.h"

namespace tf {

namespace {

std::string megabytes(uint64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f MB", static_cast<double>(bytes) / 1e6);
  return text;
}

std::string limit_text(rlim_t limit) {
  if (limit == RLIM_INFINITY) return "unlimited";
  return std::to_string(limit / 1024) + " KB";
}

}  // namespace

uint64_t lock_in_memory(const Checkpoint& checkpoint) {
  uint64_t total = 0;
  for (const auto& file : checkpoint.files()) total += file->file_size();
  uint64_t locked = 0;
  for (const auto& file : checkpoint.files()) {
    if (::mlock(file->mapped_data(), file->file_size()) == 0) {
      locked += file->file_size();
      continue;
    }
    const int error = errno;
    rlimit limit{};
    ::getrlimit(RLIMIT_MEMLOCK, &limit);
    // mlock(2): ENOMEM past RLIMIT_MEMLOCK (or out of memory), EPERM when the limit is 0.
    throw OutOfMemoryError(
        "--mlock: cannot lock the " + megabytes(total) + " of weights in memory (mlock: " +
        std::strerror(error) + " after " + megabytes(locked) + "): the locked-memory limit RLIMIT_MEMLOCK is " + limit_text(limit.rlim_cur) +
        "; raise it (`ulimit -l unlimited`, or memlock in /etc/security/limits.conf or "
        "LimitMEMLOCK= of a systemd unit) or run without --mlock");
  }
  return locked;
}

}  // namespace tf
