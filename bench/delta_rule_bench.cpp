// One decode token through every Gated DeltaNet head of Qwen3.5-35B-A3B: 30 layers × 32 value
// heads, each a 128 × 128 float32 state (62.9 MB in all) read and written by
// gated_delta_rule_step (kernels/ops_delta_rule.h). The states are one set larger than the
// last-level cache, so they come from DRAM as in decode; one thread.
//
//   ./build/bench/delta_rule_bench --benchmark_repetitions=5
//
// Counter: GB/s = state bytes read + written per second (2 × 62.9 MB per token).
//
// BM_DeltaRuleRun: a run of `tokens` tokens of one sequence through every head by
// gated_delta_rule_steps, in place (a prompt) or out of place (a speculative verify batch: the
// state before it stays, the state after the last token goes to a second, cache-line-aligned
// buffer); counter ms/token.
#include <benchmark/benchmark.h>

#include <cmath>
#include <random>
#include <vector>

#include "base/cache_line_allocator.h"
#include "kernels/linear.h"
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

enum RunForm { kInPlace = 0, kOutOfPlace = 1 };

void BM_DeltaRuleRun(benchmark::State& state) {
  const int tokens = static_cast<int>(state.range(0));
  const auto form = static_cast<RunForm>(state.range(1));
  const size_t head = static_cast<size_t>(kDk) * kDv;
  const int64_t stride = 3 * kDk;  // q | k | v per token
  std::vector<float> states(kHeads * head), rows(tokens * stride), out(tokens * kDv);
  std::vector<float> g(tokens, -0.05f), beta(tokens, 0.5f);
  std::mt19937 rng(1);
  std::normal_distribution<float> n(0.0f, 0.1f);
  for (float& x : states) x = n(rng);
  for (float& x : rows) x = n(rng);
  for (int t = 0; t < tokens; ++t)  // unit-norm q and k, as the layer's l2_normalize leaves them
    for (float* v : {rows.data() + t * stride, rows.data() + t * stride + kDk}) {
      float s = 0;
      for (int i = 0; i < kDk; ++i) s += v[i] * v[i];
      for (int i = 0; i < kDk; ++i) v[i] /= std::sqrt(s);
    }
  // Out of place: the state after the run of every head into a buffer of its own, aligned as
  // the model's (model/gated_deltanet.h).
  std::vector<float, CacheLineAllocator<float>> after(form == kOutOfPlace ? kHeads * head : 0);
  const float *q = rows.data(), *k = q + kDk, *v = q + 2 * kDk;
  for (auto _ : state) {
    for (int h = 0; h < kHeads; ++h) {
      float* S = states.data() + h * head;
      if (form == kInPlace)
        gated_delta_rule_steps(S, q, k, v, stride, g.data(), beta.data(), tokens, kDk, kDv,
                               out.data(), kDv);
      else
        gated_delta_rule_steps(S, after.data() + h * head, q, k, v, stride, g.data(),
                               beta.data(), tokens, kDk, kDv, out.data(), kDv);
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["ms/token"] = benchmark::Counter(
      static_cast<double>(tokens) * 1e-3, benchmark::Counter::kIsIterationInvariantRate |
                                              benchmark::Counter::kInvert);
  state.SetLabel(kernel_target());
}
BENCHMARK(BM_DeltaRuleRun)
    ->ArgNames({"tokens", "form"})
    ->ArgsProduct({{2, 3, 4, 8, 16, 32, 64}, {kInPlace}})
    ->ArgsProduct({{1, 2, 3, 4}, {kOutOfPlace}})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace tf

BENCHMARK_MAIN();
