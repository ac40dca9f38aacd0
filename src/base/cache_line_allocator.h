// A std::allocator that aligns every allocation to a cache line (64 bytes). For buffers that
// SIMD kernels write with non-temporal stores, which need whole aligned vectors (up to 64
// bytes with AVX-512); malloc aligns large blocks to 16 bytes only.
#pragma once

#include <cstddef>
#include <new>

namespace tf {

inline constexpr std::size_t kCacheLineBytes = 64;

template <typename T>
struct CacheLineAllocator {
  using value_type = T;
  CacheLineAllocator() = default;
  template <typename U>
  CacheLineAllocator(const CacheLineAllocator<U>&) noexcept {}
  T* allocate(std::size_t n) {
    return static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t{kCacheLineBytes}));
  }
  void deallocate(T* p, std::size_t) noexcept {
    ::operator delete(p, std::align_val_t{kCacheLineBytes});
  }
  template <typename U>
  bool operator==(const CacheLineAllocator<U>&) const noexcept {
    return true;
  }
};

}  // namespace tf
