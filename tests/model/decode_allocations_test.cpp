// Decode allocates nothing on the heap once warm (issue: "per-call heap allocation on the decode
// path: none"): every buffer a step needs is the sequence's or the forward pass's scratch,
// sized on first use and reused. Counted by replacing the global operator new in this binary.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "model/session.h"
#include "model_test_util.h"

namespace {
std::atomic<long> g_allocations{0};
}  // namespace

void* operator new(std::size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return operator new(n); }
void* operator new(std::size_t n, std::align_val_t a) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  const std::size_t al = static_cast<std::size_t>(a);
  if (void* p = std::aligned_alloc(al, (n + al - 1) / al * al)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n, std::align_val_t a) { return operator new(n, a); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }

namespace tf {
namespace {

long allocations_per_warm_decode_step(const std::string& dir, ActivationPrecision precision) {
  auto model = Model::load(dir, 2);
  SessionOptions options;
  options.precision = precision;
  Session session(*model, options);
  session.prefill(std::vector<int32_t>{1, 2, 3, 4});
  for (int32_t t = 0; t < 4; ++t) session.decode(10 + t);  // warm: scratch reaches its size
  const long before = g_allocations.load();
  for (int32_t t = 0; t < 16; ++t) session.decode(20 + t);
  return (g_allocations.load() - before) / 16;
}

TEST(DecodeAllocations, WarmDecodeStepsAllocateNothing) {
  // bf16 weights (the float path) and the trained model's dynamic conversion (quantized: the
  // Int8 path where this CPU has its kernels, and the float one).
  const std::string quantized = std::string(TIGHTFIT_TEST_DATA) + "/../../models/tiny-qwen35-dynamic";
  EXPECT_EQ(allocations_per_warm_decode_step(test::tiny_dir(), ActivationPrecision::F32), 0);
  EXPECT_EQ(allocations_per_warm_decode_step(quantized, ActivationPrecision::F32), 0);
  EXPECT_EQ(allocations_per_warm_decode_step(quantized, ActivationPrecision::Int8), 0);
}

}  // namespace
}  // namespace tf
