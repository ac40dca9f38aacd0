#include "runtime/peak_memory.h"

#include <cstring>
#include <memory>

#include <gtest/gtest.h>

namespace tf {
namespace {

TEST(PeakMemory, HighWaterMarkGrowsWhenMemoryIsTouchedAndNeverDrops) {
  const uint64_t before = peak_rss_bytes();
  ASSERT_GT(before, 0u);
  const size_t size = 64u << 20;
  uint64_t peak_inside = 0;
  {
    std::unique_ptr<char[]> block(new char[size]);
    std::memset(block.get(), 1, size);  // touch every page so it becomes resident
    const uint64_t resident = current_rss_bytes();
    EXPECT_GE(resident, size);
    peak_inside = peak_rss_bytes();
    EXPECT_GE(peak_inside, resident);
    EXPECT_GE(peak_inside, before);
    EXPECT_NE(block[size - 1], 0);
  }
  // A high-water mark: it does not drop when the block is freed. The kernel syncs its per-thread
  // RSS counters lazily, so allow a little slack (a few pages) against the earlier reading.
  EXPECT_GE(peak_rss_bytes() + (4u << 20), peak_inside);
  EXPECT_GE(peak_rss_bytes(), size);
}

TEST(PeakMemory, FormatBytes) {
  EXPECT_EQ(format_bytes(512), "512 B");
  EXPECT_EQ(format_bytes(1500), "1.50 kB");
  EXPECT_EQ(format_bytes(19'100'000'000ull), "19.1 GB");
  EXPECT_EQ(format_bytes(250'000'000ull), "250 MB");
}

}  // namespace
}  // namespace tf
