// `tightfit bench`: measure prompt processing and generation speed against the bandwidth roofline
// (runtime/bench.h), llama-bench style.
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/cli_io.h"
#include "cli/commands.h"
#include "cli/generation_flags.h"
#include "cli/kv_cache_flags.h"
#include "cli/model_flag.h"
#include "cli/threads_flag.h"
#include "runtime/bench.h"

namespace tf::cli {

namespace {

struct BenchArgs {
  std::string model, precision = "auto", json_out;
  KVCacheFlags kv_cache;
  std::vector<int> prompt = {512}, gen = {128}, parallel = {1};
  std::vector<int64_t> depths = {0, 4096, 32768};
  std::vector<double> spec_accept;
  int threads = 0, repeat = 5, spec_draft = 2;
  int64_t spec_draft_vocab = 0;
  int64_t batch = 512, bandwidth_mb = 1024;
  uint64_t seed = 1;
  bool json = false, quiet = false, no_warm = false, snapshots = false;
};

void run_bench_command(const BenchArgs& a) {
  if (a.model.empty()) throw UsageError("--model DIR is required");
  if (a.repeat < 1) throw UsageError("--repeat must be at least 1");
  if (a.batch < 1) throw UsageError("--batch must be positive");
  for (int n : a.prompt) if (n < 0) throw UsageError("-p must not be negative");
  for (int n : a.gen) if (n < 0) throw UsageError("-n must not be negative");
  for (int64_t d : a.depths) if (d < 0) throw UsageError("-d must not be negative");
  BenchOptions o;
  o.model_dir = resolve_model_flag(a.model).dir.string();
  o.prompt_tokens = a.prompt;
  o.gen_tokens = a.gen;
  o.depths = a.depths;
  for (int n : a.parallel) if (n < 1) throw UsageError("--parallel must be at least 1");
  o.parallel = a.parallel;
  for (double p : a.spec_accept)
    if (!(p >= 0.0 && p <= 1.0)) throw UsageError("--spec-accept: rates are in [0, 1]");
  if (a.spec_draft < 1) throw UsageError("--spec-draft must be at least 1");
  const bool single = std::find(a.parallel.begin(), a.parallel.end(), 1) != a.parallel.end();
  if (!a.spec_accept.empty() && !single)
    throw UsageError("--spec-accept compares with the single-sequence tg test: add 1 to --parallel");
  o.spec_accept = a.spec_accept;
  o.spec_drafts = a.spec_draft;
  if (a.spec_draft_vocab < 0) throw UsageError("--spec-draft-vocab must not be negative");
  o.spec_draft_vocab = a.spec_draft_vocab;
  o.snapshots = a.snapshots;
  o.threads = a.threads;
  o.repeats = a.repeat;
  o.prefill_batch = a.batch;
  o.seed = a.seed;
  o.warm_page_cache = !a.no_warm;
  if (a.bandwidth_mb < 1) throw UsageError("--bandwidth-mb must be positive");
  if (!a.json_out.empty()) check_output_file(a.json_out, "--json-out");
  o.bandwidth_bytes = static_cast<size_t>(a.bandwidth_mb) << 20;
  if (a.precision == "auto")
    o.precision = default_activation_precision();
  else if (a.precision == "int8")
    o.precision = ActivationPrecision::Int8;
  else if (a.precision == "f32")
    o.precision = ActivationPrecision::F32;
  else
    throw UsageError("--precision must be auto, int8 or f32");
  o.kv_cache = kv_cache_type(a.kv_cache);
  o.kv_group_size = kv_group_size(a.kv_cache);
  o.progress = a.quiet ? nullptr : stderr;

  const BenchReport r = run_bench(o);
  if (!a.json_out.empty()) {
    std::ofstream out(a.json_out);
    out << bench_report_json(r).dump(2) << "\n";
    if (!out.flush()) throw std::runtime_error(a.json_out + ": cannot write");
  }
  if (a.json)
    std::printf("%s\n", bench_report_json(r).dump(2).c_str());
  else
    std::printf("%s", format_bench_report(r).c_str());
}

}  // namespace

void add_bench_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "bench", "Measure prompt processing and generation speed against the bandwidth roofline");
  auto a = std::make_shared<BenchArgs>();
  cmd->add_option("--model,-m", a->model, kModelFlagHelp);
  cmd->add_option("-p,--n-prompt", a->prompt, "prompt lengths to prefill (0: no pp test)")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("-n,--n-gen", a->gen, "tokens to generate per tg test (0: no tg test)")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("-d,--n-depth", a->depths,
                  "context lengths every tg test runs at (filled with random KV rows, no prefill)")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--parallel,-P", a->parallel,
                  "sequences decoded together in every tg test (aggregate tok/s; union of the "
                  "experts their tokens picked read once per step)")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--spec-accept", a->spec_accept,
                  "after each tg test, speculative decoding with the MTP head at these forced "
                  "per-draft acceptance rates (e.g. 0.6,0.8)")
      ->delimiter(',');
  cmd->add_option("--spec-draft", a->spec_draft, "drafts per step of the --spec-accept tests")
      ->capture_default_str();
  cmd->add_option("--spec-draft-vocab", a->spec_draft_vocab,
                  "--spec-accept tests draft over this many ids only (0: the whole vocabulary)");
  cmd->add_flag("--snapshot", a->snapshots,
                "also time saving and restoring a sequence's whole state (the prompt cache's "
                "cost) at every depth");
  add_threads_flag(cmd, a->threads);
  cmd->add_option("-r,--repeat", a->repeat, "timed runs per test (median and spread reported)")
      ->capture_default_str();
  cmd->add_option("-b,--batch", a->batch, "prefill batch (tokens per forward pass)")
      ->capture_default_str();
  cmd->add_option("--precision", a->precision,
                  "activations meeting quantized weights: auto (the sessions' default: int8 where its SIMD kernels are faster), int8, f32")
      ->capture_default_str();
  add_kv_cache_flags(cmd, a->kv_cache);
  cmd->add_option("--seed", a->seed, "seed of the random prompt and generated tokens")
      ->capture_default_str();
  cmd->add_option("--bandwidth-mb", a->bandwidth_mb,
                  "buffer of the read-bandwidth measurement in MiB (many times the last-level cache)")
      ->capture_default_str();
  cmd->add_flag("--json", a->json, "print the report as JSON instead of the table");
  cmd->add_option("--json-out", a->json_out, "also write the JSON report to this file");
  cmd->add_flag("--no-warm", a->no_warm, "skip reading every weight once before timing");
  cmd->add_flag("-q,--quiet", a->quiet, "no per-test progress lines on stderr");
  cmd->callback([a] { run_bench_command(*a); });
}

}  // namespace tf::cli
