// A fixed range of address space reserved up front whose memory the operating system provides
// page by page as it is first written (anonymous mmap, MAP_NORESERVE): a buffer sized once for
// its planned capacity that grows in whole pages without ever reallocating, so it never holds
// two copies of its contents and its address never changes. Unwritten pages read as zero and
// cost no memory. The KV caches (model/gated_attention_kv_cache.h) live in these.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tf {

class ReservedMemory {
 public:
  ReservedMemory() = default;
  // Reserves `bytes` of address space (nothing committed). Throws std::bad_alloc when the
  // system refuses the reservation.
  explicit ReservedMemory(size_t bytes);
  ~ReservedMemory();
  ReservedMemory(ReservedMemory&& other) noexcept;
  ReservedMemory& operator=(ReservedMemory&& other) noexcept;
  ReservedMemory(const ReservedMemory&) = delete;
  ReservedMemory& operator=(const ReservedMemory&) = delete;

  uint8_t* data() { return data_; }
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

  // Gives the memory of bytes [from, size) back to the system (whole pages only); they read as
  // zero afterwards and are provided again when written.
  void release_from(size_t from);

 private:
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace tf
