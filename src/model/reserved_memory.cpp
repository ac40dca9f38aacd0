#include "model/reserved_memory.h"

#include <sys/mman.h>
#include <unistd.h>

#include <new>
#include <utility>

namespace tf {

ReservedMemory::ReservedMemory(size_t bytes) : size_(bytes) {
  if (bytes == 0) return;
  // MAP_NORESERVE: address space only; the kernel's overcommit accounting does not count it,
  // so reserving a sequence's whole context costs nothing until it is filled.
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  data_ = static_cast<uint8_t*>(p);
}

ReservedMemory::~ReservedMemory() {
  if (data_) munmap(data_, size_);
}

ReservedMemory::ReservedMemory(ReservedMemory&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

ReservedMemory& ReservedMemory::operator=(ReservedMemory&& other) noexcept {
  if (this != &other) {
    if (data_) munmap(data_, size_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

void ReservedMemory::release_from(size_t from) {
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  const size_t begin = (from + page - 1) / page * page;
  if (data_ && begin < size_) madvise(data_ + begin, size_ - begin, MADV_DONTNEED);
}

}  // namespace tf
