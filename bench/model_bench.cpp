// Tiny-model forward speed (tests/data/tiny-qwen35moe-a): per-token decode latency and prefill
// throughput. The tiny model is all overhead (hidden 64), so this measures the per-layer fixed
// costs of the session — thread hand-offs, buffer management — not weight streaming.
//
//   ./build/bench/model_bench --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <random>
#include <vector>

#include "model/session.h"

namespace tf {
namespace {

const Model& tiny_model(int threads) {
  static std::unique_ptr<Model> models[3];
  auto& m = models[threads];
  // CMake compiles sources by absolute path, so the fixture is found next to this file.
  const auto dir = std::filesystem::path(__FILE__).parent_path().parent_path() / "tests" /
                   "data" / "tiny-qwen35moe-a";
  if (!m) m = Model::load(dir.string(), threads);
  return *m;
}

std::vector<int32_t> random_tokens(int n) {
  std::mt19937 rng(1);
  std::uniform_int_distribution<int32_t> d(0, 511);
  std::vector<int32_t> t(n);
  for (auto& x : t) x = d(rng);
  return t;
}

// One decode step after a 64-token prompt; the session is reset every 512 steps so the
// context stays short.
void BM_TinyDecode(benchmark::State& state) {
  const Model& m = tiny_model(static_cast<int>(state.range(0)));
  Session s(m);
  const auto prompt = random_tokens(64);
  s.prefill(prompt);
  int32_t next = 1;
  for (auto _ : state) {
    if (s.length() >= 576) {
      state.PauseTiming();
      s.reset();
      s.prefill(prompt);
      state.ResumeTiming();
    }
    auto l = s.decode(next);
    next = static_cast<int32_t>(std::max_element(l.begin(), l.end()) - l.begin());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TinyDecode)->Arg(1)->Arg(2)->Unit(benchmark::kMicrosecond);

// Prefill of a prompt of range(1) tokens, last-token logits only.
void BM_TinyPrefill(benchmark::State& state) {
  const Model& m = tiny_model(static_cast<int>(state.range(0)));
  const auto prompt = random_tokens(static_cast<int>(state.range(1)));
  Session s(m);
  for (auto _ : state) {
    s.reset();
    benchmark::DoNotOptimize(s.prefill(prompt).data());
  }
  state.SetItemsProcessed(state.iterations() * state.range(1));
}
BENCHMARK(BM_TinyPrefill)->Args({1, 512})->Args({2, 512})->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace tf

BENCHMARK_MAIN();
