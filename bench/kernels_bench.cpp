// Weights-streamed GB/s of quantized matvec at the real Qwen3.5-35B-A3B shapes, next to this
// machine's measured memory read bandwidth.
//
//   ./build/bench/kernels_bench --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
//
// Counters: GB/s = bytes of weights (codes + scales + biases) per second over all iterations,
// decimal; best_GB/s = the same for the fastest single call (on a shared machine the least
// disturbed one); bw_GB/s = measured read bandwidth (best pass) with the same thread count.
// Every matrix is one of many copies cycled through (≥ 1 GiB in all, several times the
// last-level cache), so weights come from DRAM as they do in decode.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <vector>

#include "kernels/linear.h"
#include "random_matrix_set.h"
#include "kernels/memory_bandwidth.h"

namespace tf {
namespace {

using bench::build_set;
using bench::MatrixSet;

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

ThreadPool& pool_for(int threads) {
  static std::map<int, std::unique_ptr<ThreadPool>> pools;
  auto& p = pools[threads];
  if (!p) p = std::make_unique<ThreadPool>(threads);
  return *p;
}

double read_bandwidth(int threads) {
  static std::map<int, double> cache;
  auto it = cache.find(threads);
  if (it != cache.end()) return it->second;
  return cache[threads] = measure_read_bandwidth(pool_for(threads), size_t{2} << 30, 5);
}

// Google Benchmark calls a benchmark several times while it sizes the run: keep the last set.
const MatrixSet& make_set(int64_t rows, int64_t cols, int bits, int group) {
  static MatrixSet last;
  static std::vector<int64_t> key;
  const std::vector<int64_t> want = {rows, cols, bits, group};
  if (key != want) {
    last = MatrixSet();  // free the old gigabyte first
    last = build_set(rows, cols, bits, group);
    key = want;
  }
  return last;
}

void BM_MemoryRead(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  double gbs = 0;
  for (auto _ : state) gbs = measure_read_bandwidth(pool_for(threads), size_t{2} << 30, 3);
  state.counters["GB/s"] = gbs;
}

// args: rows, cols, bits, threads, precision (0 = F32, 1 = Int8)
void BM_Matvec(benchmark::State& state) {
  const int64_t rows = state.range(0), cols = state.range(1);
  const int bits = static_cast<int>(state.range(2)), threads = static_cast<int>(state.range(3));
  const auto precision = state.range(4) ? ActivationPrecision::Int8 : ActivationPrecision::F32;
  const MatrixSet& set = make_set(rows, cols, bits, 64);
  std::vector<float> x(cols), y(rows);
  std::mt19937 rng(1);
  std::normal_distribution<float> n(0.0f, 1.0f);
  for (auto& v : x) v = n(rng);
  ThreadPool& pool = pool_for(threads);
  size_t next = 0;
  double best = 1e30;
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    matvec(set.copies[next], x.data(), y.data(), pool, precision);
    best = std::min(best, seconds_since(start));
    next = (next + 1) % set.copies.size();
    benchmark::DoNotOptimize(y.data());
  }
  const double bytes = static_cast<double>(set.copies[0].total_bytes());
  state.counters["GB/s"] =
      benchmark::Counter(bytes * state.iterations() / 1e9, benchmark::Counter::kIsRate);
  state.counters["best_GB/s"] = bytes / best / 1e9;
  state.counters["bw_GB/s"] = read_bandwidth(threads);
}

// The same product with one copy that stays in L2: the kernel's compute ceiling per core, i.e.
// the most it could stream if memory kept up.
void BM_MatvecHot(benchmark::State& state) {
  const int64_t rows = state.range(0), cols = state.range(1);
  const int bits = static_cast<int>(state.range(2));
  const auto precision = state.range(4) ? ActivationPrecision::Int8 : ActivationPrecision::F32;
  const MatrixSet& set = make_set(rows, cols, bits, 64);
  std::vector<float> x(cols, 0.5f), y(rows);
  ThreadPool& pool = pool_for(static_cast<int>(state.range(3)));
  double best = 1e30;
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    matvec(set.copies[0], x.data(), y.data(), pool, precision);
    best = std::min(best, seconds_since(start));
    benchmark::DoNotOptimize(y.data());
  }
  const double bytes = static_cast<double>(set.copies[0].total_bytes());
  state.counters["GB/s"] =
      benchmark::Counter(bytes * state.iterations() / 1e9, benchmark::Counter::kIsRate);
  state.counters["best_GB/s"] = bytes / best / 1e9;
}

// Prefill-style: T tokens through one matrix (each copy once), multiply-adds per second.
void BM_Matmul(benchmark::State& state) {
  const int64_t rows = state.range(0), cols = state.range(1), tokens = state.range(5);
  const int bits = static_cast<int>(state.range(2)), threads = static_cast<int>(state.range(3));
  const auto precision = state.range(4) ? ActivationPrecision::Int8 : ActivationPrecision::F32;
  const MatrixSet& set = make_set(rows, cols, bits, 64);
  std::vector<float> x(tokens * cols), y(tokens * rows);
  std::mt19937 rng(2);
  std::normal_distribution<float> n(0.0f, 1.0f);
  for (auto& v : x) v = n(rng);
  ThreadPool& pool = pool_for(threads);
  size_t next = 0;
  for (auto _ : state) {
    matmul(set.copies[next], x.data(), tokens, y.data(), pool, precision);
    next = (next + 1) % set.copies.size();
    benchmark::DoNotOptimize(y.data());
  }
  state.counters["GMAC/s"] = benchmark::Counter(
      1e-9 * double(rows * cols * tokens) * state.iterations(), benchmark::Counter::kIsRate);
}

// A bf16 matrix (the MoE router: 256 experts × 2048) against T tokens, copies cycled from a
// gigabyte as in decode, one thread; µs per call. What a verify batch or N sequences pay for the
// dense rows (linear_dense.cpp).
void BM_MatmulDense(benchmark::State& state) {
  const int64_t rows = state.range(0), cols = state.range(1), tokens = state.range(2);
  static std::vector<uint16_t> pool_of_copies;
  const size_t one = static_cast<size_t>(rows * cols);
  const size_t count = std::max<size_t>(2, bench::kWorkingSet / (2 * one) + 1);
  if (pool_of_copies.size() != one * count) {
    pool_of_copies.assign(one * count, 0);
    std::mt19937 rng(3);
    std::uniform_real_distribution<float> u(-0.05f, 0.05f);
    for (size_t i = 0; i < one * count; ++i)
      store_float(reinterpret_cast<uint8_t*>(pool_of_copies.data()), DType::BF16, i, u(rng));
  }
  std::vector<float> x(tokens * cols), y(tokens * rows);
  std::mt19937 rng(2);
  std::normal_distribution<float> n(0.0f, 1.0f);
  for (auto& v : x) v = n(rng);
  WeightMatrix w;
  w.dtype = DType::BF16;
  w.rows = rows;
  w.cols = cols;
  ThreadPool& pool = pool_for(1);
  size_t next = 0;
  for (auto _ : state) {
    w.data = reinterpret_cast<const uint8_t*>(pool_of_copies.data() + next * one);
    matmul(w, x.data(), tokens, y.data(), pool);
    next = (next + 1) % count;
    benchmark::DoNotOptimize(y.data());
  }
  state.counters["us_per_token"] = benchmark::Counter(
      1e-6 * static_cast<double>(tokens) * state.iterations(),
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void matvec_args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"rows", "cols", "bits", "threads", "int8"});
  const std::vector<std::pair<int64_t, int64_t>> shapes = {
      {512, 2048},      // routed expert gate / up projection
      {2048, 512},      // routed expert down projection
      {8192, 2048},     // DeltaNet in_proj_qkv
      {248320, 2048}};  // output head
  for (auto [rows, cols] : shapes)
    for (int bits : {2, 3})
      for (int threads : {1, 2})
        for (int int8 : {0, 1}) b->Args({rows, cols, bits, threads, int8});
}

void matmul_args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"rows", "cols", "bits", "threads", "int8", "tokens"});
  for (int int8 : {0, 1}) {
    b->Args({512, 2048, 2, 2, int8, 16});    // an expert's share of a 512-token prompt
    b->Args({8192, 2048, 3, 2, int8, 128});  // in_proj_qkv over a prompt chunk
  }
  // One thread: the CPU time column is then the kernel's own cost even on a shared machine.
  b->Args({512, 2048, 2, 1, 1, 16});  // routed expert gate / up
  b->Args({2048, 512, 2, 1, 1, 16});  // routed expert down
  b->Args({512, 2048, 3, 1, 1, 512});  // shared expert gate / up over a 512-token prompt
}

BENCHMARK(BM_MemoryRead)->ArgName("threads")->Arg(1)->Arg(2)->Iterations(1)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Matvec)->Apply(matvec_args)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_MatvecHot)
    ->ArgNames({"rows", "cols", "bits", "threads", "int8"})
    ->Args({512, 2048, 2, 1, 0})->Args({512, 2048, 2, 1, 1})
    ->Args({512, 2048, 3, 1, 0})->Args({512, 2048, 3, 1, 1})
    ->Args({2048, 512, 2, 1, 1})->Args({2048, 512, 3, 1, 1})  // expert down projection: short rows
    ->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Matmul)->Apply(matmul_args)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_MatmulDense)
    ->ArgNames({"rows", "cols", "tokens"})
    ->ArgsProduct({{256}, {2048}, {1, 2, 3, 4, 8, 512}})
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace tf

BENCHMARK_MAIN();
