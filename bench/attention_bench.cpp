// One kv head's attention over a cache at depth: the kernel decode runs per full-attention layer
// (8 query heads of 256 sharing a kv head, as Qwen3.5-35B-A3B), for each cache type and group
// size, next to the scalar reference (what a type the SIMD kernel cannot read falls back to).
//
//   ./build/bench/attention_bench --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
//
// Counter: GB/s = bytes of K and V rows read per second. The rows are one copy (at 4,096 rows
// of q8 about 4 MiB: cache-resident on most CPUs), so this measures the kernel, not DRAM.
#include <benchmark/benchmark.h>

#include <cmath>
#include <random>
#include <vector>

#include "kernels/linear.h"
#include "kernels/ops_attention.h"

namespace tf {
namespace {

constexpr int kHeads = 8, kDim = 256;

struct Cache {
  std::vector<uint8_t> keys, values;
  std::vector<float> q;
  KVRows rows() const { return {keys.data(), values.data(), kDim, type, group}; }
  KVType type;
  int group;
};

Cache make_cache(KVType type, int group, int64_t count) {
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  Cache c{{}, {}, {}, type, group};
  const size_t row_bytes = kv_row_bytes(type, kDim, group);
  c.keys.resize(row_bytes * count);
  c.values.resize(row_bytes * count);
  std::vector<float> row(kDim);
  for (int64_t p = 0; p < count; ++p) {
    for (float& x : row) x = normal(rng);
    store_kv_row(type, row.data(), kDim, c.keys.data() + p * row_bytes, group);
    for (float& x : row) x = normal(rng);
    store_kv_row(type, row.data(), kDim, c.values.data() + p * row_bytes, group);
  }
  c.q.resize(kHeads * kDim);
  for (float& x : c.q) x = normal(rng);
  return c;
}

// Args: cache type (KVType as int), group size, rows; reference: the scalar reference instead.
template <bool kReference>
void BM_AttendGroup(benchmark::State& state) {
  const auto type = static_cast<KVType>(state.range(0));
  const int group = static_cast<int>(state.range(1));
  const int64_t count = state.range(2);
  const Cache c = make_cache(type, group, count);
  const float scale = 1.0f / std::sqrt(static_cast<float>(kDim));
  std::vector<float> out(kHeads * kDim);
  for (auto _ : state) {
    if constexpr (kReference)
      attend_reference(c.q.data(), kHeads, c.rows(), count, kDim, scale, out.data());
    else
      attend_group(c.q.data(), kHeads, c.rows(), count, kDim, scale, out.data());
    benchmark::DoNotOptimize(out.data());
  }
  // kernel_target() names the Highway target that ran (and, from linear.cpp, links the
  // TIGHTFIT_SIMD_TARGET hook: TIGHTFIT_SIMD_TARGET=AVX2 measures an AVX2-only CPU's kernel).
  state.SetLabel(std::string(kv_type_name(type)) + " g" + std::to_string(group) + ", " + kernel_target());
  state.counters["GB/s"] = benchmark::Counter(static_cast<double>(c.keys.size() + c.values.size()) * 1e-9,
                                              benchmark::Counter::kIsIterationInvariantRate);
}

void cache_args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"type", "group", "rows"});
  for (KVType type : {KVType::F16, KVType::Q8, KVType::Q4, KVType::Q2})
    for (int group : {32, 64}) {
      if (kv_quant_bits(type) == 0 && group != 64) continue;  // float rows have no groups
      b->Args({static_cast<int64_t>(type), group, 4096});
    }
}

BENCHMARK_TEMPLATE(BM_AttendGroup, false)->Apply(cache_args)->Unit(benchmark::kMicrosecond);
BENCHMARK_TEMPLATE(BM_AttendGroup, true)
    ->ArgNames({"type", "group", "rows"})
    ->Args({static_cast<int64_t>(KVType::Q2), 32, 4096})
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace tf

BENCHMARK_MAIN();
