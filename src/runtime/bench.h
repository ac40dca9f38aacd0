// `tightfit bench`: prompt-processing and generation speed of a model, llama-bench style, set
// against the memory-bandwidth roofline of this machine.
//
//  - ppN: a prefill of N random tokens from an empty sequence (last-token logits only).
//  - tgN (@ dD): N decode steps of random tokens after a context of D tokens. The context is
//    made with Session::extend_with_random_context (random KV rows, no forward pass), so a
//    32K context costs milliseconds instead of a 32K-token prefill; decode then reads exactly
//    as much KV cache as after a real prompt of that length.
//  - Bytes per generated token are counted, not estimated: a separate decode pass with a
//    LinearTap adds up the bytes of every weight matrix each step multiplies by (the 8 experts
//    the router actually picked, the shared expert, the projections, the head) plus the
//    embedding row; the KV cache (at its element type) and Gated DeltaNet state a step reads
//    are added from their sizes. Roofline = measured read bandwidth / bytes per token.
//  - tgN xP (--parallel P > 1): P sequences decoded together, one forward per step holding one
//    token of each (continuous batching, model/forward_pass.h): tokens/s over all sequences,
//    bytes per step = every matrix the step multiplies by once (the union of the experts the P
//    tokens picked) plus P sequences' KV cache and state; roofline = P × bandwidth / bytes.
//  - Each test runs `repeats` times after an untimed warm-up; the table shows the median and the
//    spread (min … max). Timings are only meaningful on an otherwise idle machine, so the load
//    average before and after is part of the report.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "kernels/linear.h"
#include "kernels/ops_attention.h"
#include "model/model.h"
#include "model/session.h"

namespace tf {

struct BenchOptions {
  std::string model_dir;
  std::vector<int> prompt_tokens = {512};  // pp tests (0 entries: none)
  std::vector<int> gen_tokens = {128};     // tg tests
  std::vector<int64_t> depths = {0, 4096, 32768};  // context lengths for every tg test
  std::vector<int> parallel = {1};          // sequences decoded together in every tg test
  int threads = 0;                          // 0: one per hardware thread
  int repeats = 5;
  ActivationPrecision precision = ActivationPrecision::F32;
  std::string kv_cache = "f16";             // KV cache element type by name (parse_kv_type)
  int kv_group_size = 64;                   // quantized KV types: elements per scale and bias
  int64_t prefill_batch = 512;              // tokens per forward batch in pp
  uint64_t seed = 1;
  size_t bandwidth_bytes = size_t{1} << 30;  // buffer of the read-bandwidth measurement
  bool warm_page_cache = true;              // read every weight byte once before timing
  std::FILE* progress = nullptr;            // one line per finished test (nullptr: silent)
  // Speculative decoding (runtime/speculative_decoding.h) after every tg test, once per rate:
  // the MTP head drafts spec_drafts tokens, one verify forward checks them, and each draft is
  // accepted with the given probability (forced: random weights never agree), so drafting,
  // verifying and rewinding cost what they really cost. Needs a model with an MTP head.
  std::vector<double> spec_accept;
  int spec_drafts = 2;
  // > 0: draft over a reduced vocabulary of this many ids (model/draft_vocabulary.h; the cost
  // depends only on the count, so ids 0 … N−1 stand in for a corpus-built list).
  int64_t spec_draft_vocab = 0;
  // Time Sequence::snapshot and load_snapshot at every depth (the prompt cache's save and
  // restore; engine docs): a sequence filled with `depth` tokens of random context.
  bool snapshots = false;
};

struct BenchStat {
  std::vector<double> samples;  // tokens per second, one per repeat
  double median = 0, min = 0, max = 0, mean = 0, stddev = 0;
  static BenchStat of(std::vector<double> samples);
};

struct BenchTest {
  std::string name;      // "pp512", "tg128", "tg128 @ d4096"
  bool prompt = false;   // pp (true) or tg
  int tokens = 0;
  int64_t depth = 0;
  int parallel = 1;      // tg: sequences decoded together (tok_per_s counts all of them)
  BenchStat tok_per_s;
  // tg: bytes one step reads (median over the counted steps). pp: bytes of weights the whole
  // prefill read (each selected expert once per batch), for the record.
  double weight_bytes = 0;
  double cache_bytes = 0;   // tg: KV cache + DeltaNet state read per step (at the test's mid-point)
  double roofline_tok_per_s = 0;   // tg: parallel × bandwidth / (weight + cache bytes)
  double fraction_of_roofline = 0; // tg: median / roofline
  double weights_only_roofline = 0;  // tg: bandwidth / weight bytes (llama.cpp's usual figure)
  // Speculative tests (spec_acceptance ≥ 0): drafts per step, the forced per-draft acceptance,
  // tokens emitted per verify step, and the speedup over plain decoding of the same length and
  // depth: the median ratio of paired repetitions (bench_speculative).
  double spec_acceptance = -1;
  int spec_drafts = 0;
  double tokens_per_step = 0;
  double speedup = 0;
  // CPU time this process got during the timed runs / (wall time × threads): ~1 on a quiet
  // machine; well below 1 means other processes took the cores and the rate is understated.
  double cpu_share = 0;
};

// Saving and restoring one sequence's whole state (BenchOptions::snapshots).
struct SnapshotTiming {
  int64_t depth = 0;
  double bytes = 0;          // SequenceSnapshot::bytes(): DeltaNet states + KV rows
  double deltanet_bytes = 0;  // of which the DeltaNet conv + recurrent states
  // Per repeat, in milliseconds: a save into new memory, a save into the buffers of an
  // earlier snapshot (Sequence::snapshot_into, as the prompt cache reuses evicted entries),
  // and a restore.
  BenchStat snapshot_ms, recycled_snapshot_ms, restore_ms;
};

struct BenchReport {
  std::string model_dir;
  std::string cpu;           // /proc/cpuinfo model name
  int hardware_threads = 0;
  int threads = 0;
  std::string simd_target;   // kernel_target()
  bool int8_fast = false;
  std::string int8_kernel;   // int8_kernel_name()
  std::string precision;     // "int8" / "f32"
  std::string kv_type;       // "f16" / "bf16" / "f32" / "q8" / "q4" / "q2"
  double read_bandwidth_gbs = 0;
  double load_before = -1, load_after = -1;  // 1-minute load average
  uint64_t model_bytes = 0;  // all tensor bytes of the checkpoint
  int64_t layers = 0;
  double bits_per_weight = 0;
  double warm_seconds = 0;   // reading the weights once (page cache)
  double load_seconds = 0;   // Model::load
  std::vector<BenchTest> tests;
  std::vector<SnapshotTiming> snapshots;
};

// One snapshot timing (bench_snapshot.cpp): `repeats` snapshots and restores of a sequence of
// `depth` random-context tokens.
SnapshotTiming bench_snapshot(const Model& model, KVType kv_type, int kv_group_size,
                              int64_t depth, int repeats, uint64_t seed);

// One speculative tg test (bench_speculative.cpp): at least n tokens after `depth` tokens of
// context at forced acceptance `acceptance`, options.repeats times after a warm-up; `tokens`
// (≥ 2) seed the sequence. Each timed repetition is paired with one of `plain_repetition` (the
// plain tg test's, returning its tokens per second), run right before it (odd repetitions:
// right after), and the test's speedup is the median of the pairs' ratios: a machine whose
// speed drifts between tests (shared hosts, memory bandwidth that changes run to run) moves
// both sides of a pair alike. Throws std::invalid_argument when the model has no MTP head.
BenchTest bench_speculative(const Model& model, const SessionOptions& timed,
                            const BenchOptions& options, int n, int64_t depth, double acceptance,
                            const std::vector<int32_t>& tokens,
                            const std::function<double()>& plain_repetition);

// Runs the tests. Throws what Model::load throws (naming the folder / tensor).
BenchReport run_bench(const BenchOptions& options);

// llama-bench-like markdown table plus a header with the machine and the roofline inputs.
std::string format_bench_report(const BenchReport& report);
nlohmann::json bench_report_json(const BenchReport& report);

}  // namespace tf
