// KV caches sized up front (model/gated_attention_kv_cache.h): the capacity is reserved as
// address space when the cache is made, memory arrives page by page as rows are written, rows
// never move, and a batch that would pass a sequence's capacity is refused before any state
// changes.
#include <gtest/gtest.h>

#include <unistd.h>

#include <fstream>
#include <stdexcept>
#include <vector>

#include "model/forward_pass.h"
#include "model_test_util.h"

namespace tf {
namespace {

using test::random_tokens;

// Resident memory of this process, from /proc/self/statm (pages).
size_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  size_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

TEST(KVCacheMemory, ReservedUpFrontFilledPageByPageNeverMoved) {
  const int64_t heads = 2, dim = 256, capacity = 1 << 20;  // 2 GiB of f16 keys + values
  const size_t before = resident_bytes();
  KVCache cache(KVType::F16, heads, dim, capacity);
  EXPECT_LT(resident_bytes(), before + (1u << 20)) << "reserving committed memory";
  const uint8_t* first_key = cache.keys(0);
  const uint8_t* last_value = cache.values(heads - 1);

  std::vector<float> k(heads * dim, 0.5f), v(heads * dim, -2.0f);
  const int64_t rows = 4096;
  cache.resize(rows);
  for (int64_t r = 0; r < rows; ++r) cache.store(r, k.data(), v.data());
  const size_t written = 2 * rows * cache.row_bytes();  // 4 MiB
  const size_t grown = resident_bytes() - before;
  EXPECT_GE(grown + (256u << 10), written);    // the rows are really there
  EXPECT_LT(grown, written + (4u << 20));      // and not much more
  EXPECT_EQ(cache.keys(0), first_key);         // growing never moved a row
  EXPECT_EQ(cache.values(heads - 1), last_value);
  std::vector<float> row(dim);
  load_kv_row(KVType::F16, cache.values(1) + (rows - 1) * cache.head_row_bytes(), dim, row.data());
  EXPECT_EQ(row[dim - 1], -2.0f);

  EXPECT_THROW(cache.resize(capacity + 1), std::length_error);
  EXPECT_EQ(cache.length, rows);
  cache.reset();  // gives the pages back
  EXPECT_EQ(cache.length, 0);
  EXPECT_LT(resident_bytes(), before + written / 2);
}

class SequenceCapacity : public test::TinyModelSuite<> {};

TEST_F(SequenceCapacity, BatchPastTheCapacityIsRefusedBeforeAnyChange) {
  const auto prompt = random_tokens(15, 1), more = random_tokens(10, 2);
  Session s(*model_, {.kv_type = KVType::F32, .capacity = 20});
  EXPECT_EQ(s.sequence().capacity(), 20);
  s.prefill(prompt);
  EXPECT_THROW(s.prefill(more), std::length_error);
  EXPECT_THROW(s.extend_with_random_context(21, 1), std::length_error);
  EXPECT_EQ(s.length(), 15);
  // Untouched: the sequence continues like one that never saw the refused batch.
  const std::vector<float> got = [&] {
    auto l = s.prefill(std::span(more.data(), 5), true);
    return std::vector<float>(l.begin(), l.end());
  }();
  Session ref(*model_, {.kv_type = KVType::F32});
  ref.prefill(prompt);
  auto want = ref.prefill(std::span(more.data(), 5), true);
  EXPECT_EQ(got, std::vector<float>(want.begin(), want.end()));
  EXPECT_EQ(s.length(), 20);
  EXPECT_THROW(s.decode(1), std::length_error);

  Session whole(*model_);
  EXPECT_EQ(whole.sequence().capacity(), model_->text().max_position_embeddings);
}

}  // namespace
}  // namespace tf
