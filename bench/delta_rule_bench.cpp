// One decode token through every Gated DeltaNet head of Qwen3.5-35B-A3B: 30 layers × 32 value
// heads, each a 128 × 128 float32 state (62.9 MB in all) read and written by
// gated_delta_rule_step (kernels/ops_delta_rule.h). The states are one set larger than the
// last-level cache, so they come from DRAM as in decode; one thread.
//
//   ./build/bench/delta_rule_bench --benchmark_repetitions=5
//
// Counter: GB/s = state bytes read + written per second (2 × 62.9 MB per token).
#include <benchmark/benchmark.h>

#include <cmath>
#include <random>
#include <vector>

#include "kernels/ops_delta_rule.h"

namespace tf {
namespace {

constexpr int kHeads = 30 * 32, kDk = 128, kDv = 128;

void BM_DeltaRuleStep(benchmark::State& state) {
  const size_t head = static_cast<size_t>(kDk) * kDv;
  std::vector<float> states(kHeads * head), qkv(3 * kDk), out(kDv);
  std::mt19937 rng(1);
  std::normal_distribution<float> n(0.0f, 0.1f);
  for (float& x : states) x = n(rng);
  for (float& x : qkv) x = n(rng);
  // Unit-norm q and k, as the layer's l2_normalize leaves them.
  for (float* v : {qkv.data(), qkv.data() + kDk}) {
    float s = 0;
    for (int i = 0; i < kDk; ++i) s += v[i] * v[i];
    for (int i = 0; i < kDk; ++i) v[i] /= std::sqrt(s);
  }
  for (auto _ : state) {
    for (int h = 0; h < kHeads; ++h)
      gated_delta_rule_step(states.data() + h * head, qkv.data(), qkv.data() + kDk,
                            qkv.data() + 2 * kDk, -0.05f, 0.5f, kDk, kDv, out.data());
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["GB/s"] = benchmark::Counter(
      2.0 * static_cast<double>(states.size() * sizeof(float)), benchmark::Counter::kIsIterationInvariantRate,
      benchmark::Counter::kIs1000);
}
BENCHMARK(BM_DeltaRuleStep)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace tf

BENCHMARK_MAIN();
