// Cost of a forward of a few tokens through one quantized matrix, per Int8 kernel: the row
// kernels (linear_q8*.cpp: each weight block unpacked once per token tile and dotted against
// every token of the tile) against the 16-rows-per-vector tile kernel (linear_q8_tiles.cpp,
// AVX-512 VNNI), for T = 1 … 16 tokens. What it is for: choosing kQ8TileMinTokens and seeing
// what a verify pass of k + 1 tokens or a step of N sequences costs against one decode token.
//
//   ./build/bench/q8_small_batch_bench --benchmark_filter='Rows|Tiles'
//
// Rows16: the 2- and 3-bit kernel on rows interleaved once in blocks of 16 (linear_q8_rows16.cpp,
// AVX-512 VNNI); Rows8: in blocks of 8 (linear_q8_rows8.cpp, 256-bit x86).
//
// One thread, the kernel called directly (no pool), matrices cycled from DRAM as in decode
// (≥ 1 GiB of copies), timed in the thread's CPU time (a shared machine's preemptions do not
// count; its contention for memory still does). Counters: us_per_call; x_one_token = this call's time over the same
// kernel's time for one token (same shape, same run); kernel runs on whatever target Highway
// picked (TIGHTFIT_SIMD_TARGET=AVX2 for the 256-bit kernels).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <ctime>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <vector>

#include "kernels/linear.h"
#include "kernels/linear_internal.h"
#include "kernels/memory_bandwidth.h"
#include "kernels/hwy_targets.h"  // before any hwy/ header
#include "hwy/targets.h"
#include "random_matrix_set.h"

namespace tf {
namespace {

using bench::build_set;
using bench::MatrixSet;

const MatrixSet& make_set(int64_t rows, int64_t cols, int bits) {
  static MatrixSet last;
  static std::vector<int64_t> key;
  const std::vector<int64_t> want = {rows, cols, bits};
  if (key != want) {
    last = MatrixSet();
    last = build_set(rows, cols, bits, 64);
    key = want;
  }
  return last;
}

// The same copies with their rows interleaved in blocks of 16 or 8 (linear_q8_rows16.cpp,
// linear_q8_rows8.cpp).
const MatrixSet& make_interleaved_set(const MatrixSet& set, WeightMatrix::Layout layout) {
  static MatrixSet last;
  static const MatrixSet* from = nullptr;
  static WeightMatrix shape;
  const WeightMatrix& w = set.copies[0];
  if (from != &set || shape.rows != w.rows || shape.cols != w.cols || shape.bits != w.bits ||
      shape.layout != layout) {
    last = MatrixSet();
    const size_t code_bytes = w.row_bytes() * w.rows;
    const size_t param_bytes = static_cast<size_t>(w.rows * w.groups_per_row()) * dtype_size(w.dtype);
    last.codes.reset(new uint8_t[code_bytes * set.copies.size()]);
    last.params.reset(new uint8_t[2 * param_bytes * set.copies.size()]);
    for (size_t c = 0; c < set.copies.size(); ++c) {
      WeightMatrix m = set.copies[c];
      m.data = last.codes.get() + c * code_bytes;
      m.scales = last.params.get() + 2 * c * param_bytes;
      m.biases = m.scales + param_bytes;
      simd::q8_interleave(layout, set.copies[c], const_cast<uint8_t*>(m.data),
                          const_cast<uint8_t*>(m.scales), const_cast<uint8_t*>(m.biases));
      m.layout = layout;
      last.copies.push_back(m);
    }
    from = &set;
    shape = w;
    shape.layout = layout;
  }
  return last;
}

// The inputs of T tokens in the layouts both kernels read (as linear.cpp prepares them).
struct Inputs {
  std::vector<float> x, group_sums, deltas, tile_deltas;
  std::vector<int8_t> values, row_scratch, tile_values;
  simd::Q8Input rows;
  simd::Q8TileInput tiles;
};

// tile_bits: the tile input's order (2 = planes order, which interleaved rows of 2 and 3 bits read;
// -8: the planes order of the 8-row kernel).
Inputs make_inputs(int64_t tokens, int64_t cols, int bits, int tile_bits) {
  Inputs in;
  const int group = 64;
  const int64_t groups = cols / group;
  in.x.resize(static_cast<size_t>(tokens * cols));
  std::mt19937 rng(3);
  std::normal_distribution<float> n(0.0f, 1.0f);
  for (auto& v : in.x) v = n(rng);
  in.group_sums.resize(static_cast<size_t>(tokens * groups + 64));
  simd::group_sums(in.x.data(), tokens, cols, group, in.group_sums.data());
  const int64_t padded = simd::q8_padded_cols(bits, cols);
  in.values.resize(static_cast<size_t>(tokens * padded));
  in.deltas.resize(static_cast<size_t>(tokens * groups));
  in.row_scratch.resize(static_cast<size_t>(simd::q8_quantize_row_scratch(padded)));
  simd::q8_quantize_input(bits, group, in.x.data(), tokens, cols, padded, in.values.data(),
                          in.deltas.data(), in.row_scratch.data());
  in.rows = {tokens, cols, padded, groups, in.values.data(), in.deltas.data(), in.group_sums.data()};
  const int64_t stride = simd::q8_tiles_stride(cols);
  in.tile_values.resize(static_cast<size_t>(tokens * stride));
  in.tile_deltas.resize(static_cast<size_t>(tokens * groups));
  if (tile_bits == -8)
    simd::q8_rows8_quantize(in.x.data(), tokens, cols, group, in.tile_values.data(), in.tile_deltas.data());
  else if (simd::q8_tiles_fast())
    simd::q8_tiles_quantize(tile_bits, in.x.data(), tokens, cols, group, in.tile_values.data(),
                            in.tile_deltas.data());
  in.tiles = {tokens, stride, in.tile_values.data(), in.tile_deltas.data(), in.group_sums.data()};
  return in;
}

// CPU seconds of this thread: on a shared machine, time it was not running does not count.
double thread_seconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// CPU seconds per call of one kernel on T tokens, the matrix cycled from DRAM.
// hot: the same copy every call (from L2 where it fits: the kernel's compute alone).
template <class Kernel>
double time_calls(const MatrixSet& set, int64_t tokens, Kernel&& kernel, int calls, bool hot) {
  std::vector<float> y(static_cast<size_t>(tokens * set.copies[0].rows));
  const size_t copies = hot ? 1 : set.copies.size();
  size_t next = 0;
  for (int i = 0; i < 3; ++i) kernel(set.copies[next++ % copies], y.data());
  const double start = thread_seconds();
  for (int i = 0; i < calls; ++i) kernel(set.copies[next++ % copies], y.data());
  benchmark::DoNotOptimize(y.data());
  return (thread_seconds() - start) / calls;
}

// args: rows, cols, bits, tokens; kind 0 = row kernels, 1 = tile kernel, 2 = the rows
// interleaved in blocks of 16 (2- and 3-bit), 3 = in blocks of 8. x_one_token: against the same kernel at one token;
// x_rows_one_token: against the row kernels at one token (today's decode), same run.
void run(benchmark::State& state, int kind, bool hot) {
  const int64_t rows = state.range(0), cols = state.range(1), tokens = state.range(3);
  const int bits = static_cast<int>(state.range(2));
  if (kind != 0 && !simd::q8_tiles_fast()) {
    state.SkipWithError("no tile kernel on this target");
    return;
  }
  const MatrixSet& set = make_set(rows, cols, bits);
  if (kind == 2 && (!simd::q8_rows16_supported() || !simd::q8_rows16_layout_fits(set.copies[0]))) {
    state.SkipWithError("no 16-row interleaved kernel for this matrix or target");
    return;
  }
  if (kind == 3 && (!simd::q8_rows8_supported() || !simd::q8_rows8_layout_fits(set.copies[0]))) {
    state.SkipWithError("no 8-row interleaved kernel for this matrix or target");
    return;
  }
  const MatrixSet& kernel_set =
      kind == 2 ? make_interleaved_set(set, WeightMatrix::Layout::Rows16)
      : kind == 3 ? make_interleaved_set(set, WeightMatrix::Layout::Rows8)
                  : set;
  const int tile_bits = kind == 2 ? 2 : kind == 3 ? -8 : bits;
  const Inputs one = make_inputs(1, cols, bits, tile_bits), many = make_inputs(tokens, cols, bits, tile_bits);
  auto kernel_for = [&](const Inputs& in, int k) {
    return [&in, k](const WeightMatrix& w, float* y) {
      if (k == 0)
        simd::q8_affine_rows(w, in.rows, 0, w.rows, y, w.rows);
      else if (k == 1)
        simd::q8_tiles_rows(w, in.tiles, 0, w.rows, y, w.rows);
      else if (k == 2)
        simd::q8_rows16_rows(w, in.tiles, 0, w.rows, y, w.rows);
      else
        simd::q8_rows8_rows(static_cast<simd::Q8Dot256>(simd::q8_dot256()), w, in.tiles, 0, w.rows, y, w.rows);
    };
  };
  const int calls = std::max<int>(4, static_cast<int>(1e9 / (rows * cols)));
  double t1 = 0, tn = 0, rows1 = 0;
  for (auto _ : state) {
    // Alternating, so a change in the machine's load moves all three.
    rows1 = time_calls(set, 1, kernel_for(one, 0), calls, hot);
    t1 = time_calls(kernel_set, 1, kernel_for(one, kind), calls, hot);
    tn = time_calls(kernel_set, tokens, kernel_for(many, kind), calls, hot);
  }
  state.counters["us_per_call"] = tn * 1e6;
  state.counters["x_one_token"] = tn / t1;
  state.counters["x_rows_one_token"] = tn / rows1;
  state.counters["GB/s"] = static_cast<double>(set.copies[0].total_bytes()) / tn / 1e9;
  state.SetLabel(int8_kernel_name());  // (linear.cpp: also links its TIGHTFIT_SIMD_TARGET hook)
}

void BM_Rows(benchmark::State& state) { run(state, 0, false); }
void BM_Tiles(benchmark::State& state) { run(state, 1, false); }
void BM_RowsHot(benchmark::State& state) { run(state, 0, true); }
void BM_TilesHot(benchmark::State& state) { run(state, 1, true); }
void BM_Rows16(benchmark::State& state) { run(state, 2, false); }
void BM_Rows16Hot(benchmark::State& state) { run(state, 2, true); }
void BM_Rows8(benchmark::State& state) { run(state, 3, false); }
void BM_Rows8Hot(benchmark::State& state) { run(state, 3, true); }

void shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"rows", "cols", "bits", "tokens"});
  const std::vector<std::array<int64_t, 3>> mats = {
      {8192, 2048, 3},  // DeltaNet in_proj_qkv (dense, 3-bit in the dynamic recipe)
      {2048, 4096, 3},  // a DeltaNet / attention output projection
      {512, 2048, 2},   // a routed expert's gate / up
      {2048, 512, 2},   // a routed expert's down
      {4096, 2048, 4},
      {512, 2048, 3}};
  for (const auto& m : mats)
    for (int64_t t : {1, 2, 3, 4, 5, 6, 8, 10, 12, 16}) b->Args({m[0], m[1], m[2], t});
}

BENCHMARK(BM_Rows)->Apply(shapes)->Iterations(1)->UseRealTime();
BENCHMARK(BM_Tiles)->Apply(shapes)->Iterations(1)->UseRealTime();
BENCHMARK(BM_RowsHot)->Apply(shapes)->Iterations(1)->UseRealTime();
BENCHMARK(BM_TilesHot)->Apply(shapes)->Iterations(1)->UseRealTime();
BENCHMARK(BM_Rows16)->Apply(shapes)->Iterations(1)->UseRealTime();
BENCHMARK(BM_Rows16Hot)->Apply(shapes)->Iterations(1)->UseRealTime();
BENCHMARK(BM_Rows8)->Apply(shapes)->Iterations(1)->UseRealTime();
BENCHMARK(BM_Rows8Hot)->Apply(shapes)->Iterations(1)->UseRealTime();

}  // namespace
}  // namespace tf

BENCHMARK_MAIN();
