// Test helper: memory whose next page cannot be read, to check that a kernel reads nothing past
// a tensor that ends a mapped page (an mmapped checkpoint's last tensor may).
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace tf::test {

class GuardedPage {
 public:
  GuardedPage() : page_(static_cast<size_t>(sysconf(_SC_PAGESIZE))) {
    void* map = mmap(nullptr, 3 * page_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (map == MAP_FAILED) throw std::runtime_error("GuardedPage: mmap failed");
    base_ = static_cast<uint8_t*>(map);
    if (mprotect(base_ + 2 * page_, page_, PROT_NONE) != 0) {
      munmap(base_, 3 * page_);
      throw std::runtime_error("GuardedPage: mprotect failed");
    }
  }
  ~GuardedPage() { munmap(base_, 3 * page_); }
  GuardedPage(const GuardedPage&) = delete;
  GuardedPage& operator=(const GuardedPage&) = delete;

  // A copy of `bytes` (at most two pages) that ends where the unreadable page starts.
  uint8_t* place_at_end(const std::vector<uint8_t>& bytes) {
    uint8_t* at = base_ + 2 * page_ - bytes.size();
    std::memcpy(at, bytes.data(), bytes.size());
    return at;
  }

 private:
  size_t page_;
  uint8_t* base_ = nullptr;
};

}  // namespace tf::test
