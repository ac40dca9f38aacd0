#include "runtime/bench.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <numeric>
#include <random>
#include <thread>

#include <sys/resource.h>
#include <nlohmann/json.hpp>

#include "kernels/memory_bandwidth.h"
#include "model/forward_pass.h"
#include "model/sequence.h"
#include "model/session.h"
#include "quant/model_summary.h"
#include "runtime/memory_plan.h"
#include "runtime/bench_clock.h"

namespace tf {

using namespace bench_clock;

namespace {

double load_average() {
  double l[1];
  return getloadavg(l, 1) == 1 ? l[0] : -1.0;
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(" \t", colon + 1));
    }
  return "unknown";
}

std::vector<int32_t> random_tokens(int64_t n, int64_t vocab, std::mt19937_64& rng) {
  std::uniform_int_distribution<int32_t> d(0, static_cast<int32_t>(vocab - 1));
  std::vector<int32_t> t(static_cast<size_t>(n));
  for (auto& x : t) x = d(rng);
  return t;
}

// Faults every page of every tensor in (from disk when not cached), so timings see a warm page
// cache and mapped pages.
void touch_weights(const Checkpoint& ck) {
  volatile uint8_t sink = 0;
  for (const auto& name : ck.names()) {
    const TensorView& t = ck.get(name);
    uint8_t acc = 0;
    for (size_t i = 0; i < t.nbytes; i += 4096) acc ^= t.data[i];
    if (t.nbytes) acc ^= t.data[t.nbytes - 1];
    sink = sink ^ acc;
  }
  (void)sink;
}

// Bytes of the KV caches and Gated DeltaNet states one decode step reads at sequence length n
// (runtime/memory_plan.h's formulas).
double cache_bytes_at(const TextConfig& c, KVType kv_type, int group_size, int64_t n) {
  return static_cast<double>(kv_bytes_per_token(c, kv_type, group_size)) *
             static_cast<double>(n) +
         static_cast<double>(deltanet_state_bytes(c));
}


}  // namespace

BenchStat BenchStat::of(std::vector<double> samples) {
  BenchStat s;
  s.samples = samples;
  if (samples.empty()) return s;
  std::sort(samples.begin(), samples.end());
  const size_t n = samples.size();
  s.median = n % 2 ? samples[n / 2] : 0.5 * (samples[n / 2 - 1] + samples[n / 2]);
  s.min = samples.front();
  s.max = samples.back();
  s.mean = std::accumulate(samples.begin(), samples.end(), 0.0) / static_cast<double>(n);
  double var = 0;
  for (double x : samples) var += (x - s.mean) * (x - s.mean);
  s.stddev = n > 1 ? std::sqrt(var / static_cast<double>(n - 1)) : 0.0;
  return s;
}

BenchReport run_bench(const BenchOptions& o) {
  const KVType kv_type = parse_kv_type(o.kv_cache);  // std::invalid_argument for a bad name
  if (o.repeats < 1) throw std::invalid_argument("bench: repeats must be at least 1");
  BenchReport r;
  r.model_dir = o.model_dir;
  r.cpu = cpu_model();
  r.hardware_threads = static_cast<int>(std::thread::hardware_concurrency());
  r.simd_target = kernel_target();
  r.int8_fast = int8_activations_fast();
  r.int8_kernel = int8_kernel_name();
  r.precision = o.precision == ActivationPrecision::Int8 ? "int8" : "f32";
  r.kv_type = kv_type_name(kv_type);
  if (kv_quant_bits(kv_type) != 0) r.kv_type += " g" + std::to_string(o.kv_group_size);
  r.load_before = load_average();

  auto t0 = Clock::now();
  ModelLoadOptions load_options;
  load_options.precision = o.precision;
  const std::unique_ptr<Model> model = Model::load(o.model_dir, o.threads, load_options);
  r.load_seconds = seconds_since(t0);
  const Model& m = *model;
  // The kernel path, named: matrices re-laid out at load run the 16- or 8-row tile kernel.
  if (m.interleaved_bytes() > 0)
    r.int8_kernel += std::string(interleaved_matrices_for(o.precision) == InterleavedMatrices::RoutedExperts
                                     ? ", experts in "
                                     : ", weights in ") +
                     std::to_string(interleaved_block_rows()) + "-row tiles";
  const TextConfig& c = m.text();
  // Every test must fit the model's context (a sequence holds max_position_embeddings tokens):
  // said before any test runs, not as a forward pass's error after minutes of others.
  const int64_t context =
      c.max_position_embeddings > 0 ? c.max_position_embeddings : Sequence::kDefaultCapacity;
  for (int n : o.prompt_tokens)
    if (n > context)
      throw std::invalid_argument("bench: a prompt of " + std::to_string(n) + " tokens (-p) passes this model's context of " +
                                  std::to_string(context) + " tokens");
  for (int n : o.gen_tokens)
    for (int64_t depth : o.depths)
      if (n > 0 && depth + n + 1 > context)
        throw std::invalid_argument("bench: " + std::to_string(n) + " tokens after a depth of " + std::to_string(depth) +
                                    " (-n, -d) pass this model's context of " + std::to_string(context) +
                                    " tokens; choose depths up to " + std::to_string(std::max<int64_t>(0, context - n - 1)));
  r.threads = m.pool().num_threads();
  r.layers = c.num_hidden_layers;
  r.model_bytes = m.checkpoint().total_bytes();
  {
    const auto& q = m.config().quantization;
    r.bits_per_weight = summarize_model(m.checkpoint().specs(), q ? &*q : nullptr).bits_per_weight();
  }
  if (o.warm_page_cache) {
    t0 = Clock::now();
    touch_weights(m.checkpoint());
    r.warm_seconds = seconds_since(t0);
  }
  r.read_bandwidth_gbs = measure_read_bandwidth(m.pool(), o.bandwidth_bytes);
  const double bandwidth = r.read_bandwidth_gbs * 1e9;

  SessionOptions timed;
  timed.precision = o.precision;
  timed.kv_type = kv_type;
  timed.kv_group_size = o.kv_group_size;
  timed.prefill_batch = o.prefill_batch;
  // Counting sessions: the same forward pass with a tap adding up the weight bytes of every
  // product it runs (each product reads its matrix once, whatever the number of rows).
  double counted = 0;
  SessionOptions counting = timed;
  counting.linear_tap = [&counted](const std::string&, int, int, const WeightMatrix& w,
                                   const float*, int64_t) {
    counted += static_cast<double>(w.total_bytes());
  };
  const double embed_row = static_cast<double>(m.weights().embed.row_slice(0, 1).total_bytes());
  std::mt19937_64 rng(o.seed);
  auto report = [&](const BenchTest& t) {
    if (!o.progress) return;
    std::fprintf(o.progress, "%s: %.2f tok/s (median of %zu, %.2f … %.2f; CPU share %.0f %%)\n",
                 t.name.c_str(), t.tok_per_s.median, t.tok_per_s.samples.size(), t.tok_per_s.min,
                 t.tok_per_s.max, 100 * t.cpu_share);
    std::fflush(o.progress);
  };

  for (int n : o.prompt_tokens) {
    if (n <= 0) continue;
    BenchTest t;
    t.name = "pp" + std::to_string(n);
    t.prompt = true;
    t.tokens = n;
    const auto tokens = random_tokens(n, c.vocab_size, rng);
    {  // warm-up and byte count
      Session s(m, counting);
      counted = 0;
      s.prefill(tokens);
      t.weight_bytes = counted + embed_row * n;
    }
    Session s(m, timed);
    std::vector<double> rates;
    double wall = 0;
    const double cpu0 = cpu_seconds();
    for (int i = 0; i < o.repeats; ++i) {
      s.reset();
      t0 = Clock::now();
      s.prefill(tokens);
      const double dt = seconds_since(t0);
      wall += dt;
      rates.push_back(n / dt);
    }
    t.cpu_share = (cpu_seconds() - cpu0) / (wall * r.threads);
    t.tok_per_s = BenchStat::of(rates);
    report(t);
    r.tests.push_back(t);
  }

  // P sequences at `depth`, one token each per forward (see bench.h).
  auto run_parallel_tg = [&](int n, int64_t depth, int P) {
    BenchTest t;
    t.name = "tg" + std::to_string(n) + (depth ? " @ d" + std::to_string(depth) : "") + " x" +
             std::to_string(P);
    t.tokens = n;
    t.depth = depth;
    t.parallel = P;
    std::vector<std::vector<int32_t>> tokens;  // each sequence its own: routing spreads
    for (int p = 0; p < P; ++p) tokens.push_back(random_tokens(n, c.vocab_size, rng));
    auto run = [&](ForwardPass& pass, int steps, std::vector<double>* per_step) {
      std::vector<Sequence> seqs;
      seqs.reserve(P);
      for (int p = 0; p < P; ++p) {
        seqs.emplace_back(m, kv_type, depth + n + 1, o.kv_group_size);
        seqs.back().extend_with_random_context(depth, o.seed + p);
      }
      std::vector<BatchItem> items(P);
      const Clock::time_point start = Clock::now();
      for (int j = 0; j < steps; ++j) {
        for (int p = 0; p < P; ++p) {
          items[p].sequence = &seqs[p];
          items[p].tokens = std::span<const int32_t>(tokens[p]).subspan(j, 1);
        }
        counted = 0;
        pass.run(items);
        if (per_step) per_step->push_back(counted + embed_row * P);
      }
      return seconds_since(start);
    };
    {  // warm-up and byte count: a few steps, median bytes per step
      ForwardPass pass(m, {.precision = o.precision, .linear_tap = counting.linear_tap});
      std::vector<double> per_step;
      run(pass, std::min(n, 8), &per_step);
      t.weight_bytes = BenchStat::of(per_step).median;
    }
    t.cache_bytes = P * cache_bytes_at(c, kv_type, o.kv_group_size, depth + n / 2);
    ForwardPass pass(m, {.precision = o.precision, .linear_tap = {}});
    std::vector<double> rates;
    double wall = 0, cpu = 0;
    for (int i = 0; i < o.repeats; ++i) {
      const double cpu0 = cpu_seconds();
      const double dt = run(pass, n, nullptr);
      cpu += cpu_seconds() - cpu0;
      wall += dt;
      rates.push_back(static_cast<double>(P) * n / dt);
    }
    t.cpu_share = cpu / (wall * r.threads);
    t.tok_per_s = BenchStat::of(rates);
    t.roofline_tok_per_s = P * bandwidth / (t.weight_bytes + t.cache_bytes);
    t.weights_only_roofline = P * bandwidth / t.weight_bytes;
    t.fraction_of_roofline = t.tok_per_s.median / t.roofline_tok_per_s;
    report(t);
    r.tests.push_back(t);
  };

  for (int n : o.gen_tokens) {
    if (n <= 0) continue;
    for (int64_t depth : o.depths) {
      const bool single = std::find(o.parallel.begin(), o.parallel.end(), 1) != o.parallel.end();
      if (single) {
        BenchTest t;
        t.name = "tg" + std::to_string(n) + (depth ? " @ d" + std::to_string(depth) : "");
        t.tokens = n;
        t.depth = depth;
        const auto tokens = random_tokens(n, c.vocab_size, rng);
        {  // warm-up and byte count: a few steps, median bytes per step
          Session s(m, counting);
          s.extend_with_random_context(depth, o.seed);
          std::vector<double> per_step;
          for (int i = 0; i < std::min(n, 8); ++i) {
            counted = 0;
            s.decode(tokens[i]);
            per_step.push_back(counted + embed_row);
          }
          t.weight_bytes = BenchStat::of(per_step).median;
        }
        t.cache_bytes = cache_bytes_at(c, kv_type, o.kv_group_size, depth + n / 2);
        Session s(m, timed);
        std::vector<double> rates;
        double wall = 0, cpu = 0;
        // One timed repetition: n tokens decoded after `depth` of context, in tokens per second.
        const auto plain_repetition = [&] {
          s.reset();
          s.extend_with_random_context(depth, o.seed);
          const double cpu0 = cpu_seconds();
          t0 = Clock::now();
          for (int j = 0; j < n; ++j) s.decode(tokens[j]);
          const double dt = seconds_since(t0);
          cpu += cpu_seconds() - cpu0;
          wall += dt;
          return n / dt;
        };
        for (int i = 0; i < o.repeats; ++i) rates.push_back(plain_repetition());
        t.cpu_share = cpu / (wall * r.threads);
        t.tok_per_s = BenchStat::of(rates);
        t.roofline_tok_per_s = bandwidth / (t.weight_bytes + t.cache_bytes);
        t.weights_only_roofline = bandwidth / t.weight_bytes;
        t.fraction_of_roofline = t.tok_per_s.median / t.roofline_tok_per_s;
        report(t);
        r.tests.push_back(t);
        for (double acceptance : o.spec_accept) {
          BenchTest st =
              bench_speculative(m, timed, o, n, depth, acceptance, tokens, plain_repetition);
          report(st);
          r.tests.push_back(st);
        }
      }
      for (int P : o.parallel)
        if (P > 1) run_parallel_tg(n, depth, P);
    }
  }
  if (o.snapshots)
    for (int64_t depth : o.depths) {
      r.snapshots.push_back(bench_snapshot(m, kv_type, o.kv_group_size, depth, o.repeats, o.seed));
      if (o.progress)
        std::fprintf(o.progress, "snapshot @ d%lld done\n", static_cast<long long>(depth));
    }
  r.load_after = load_average();
  return r;
}

std::string format_bench_report(const BenchReport& r) {
  std::string s;
  s += "model: " + r.model_dir + " (" + human_bytes(r.model_bytes) + ", " +
       fmt("%.3f", r.bits_per_weight) + " bits/weight, " + std::to_string(r.layers) + " layers)\n";
  s += "cpu: " + r.cpu + ", " + std::to_string(r.hardware_threads) + " hardware threads; kernels " +
       r.simd_target + ", activations " + r.precision +
       (r.precision == "int8" ? " (" + r.int8_kernel + ")" : "") +
       ", KV cache " + r.kv_type + "\n";
  s += "measured read bandwidth: " + fmt("%.1f", r.read_bandwidth_gbs) + " GB/s; load average " +
       fmt("%.2f", r.load_before) + " before, " + fmt("%.2f", r.load_after) + " after\n\n";
  s += "| test | threads | t/s (median) | spread (min … max) | CPU share | weights MB/tok | "
       "KV+state MB/tok | roofline t/s | of roofline |\n";
  s += "|---|---:|---:|---:|---:|---:|---:|---:|---:|\n";
  for (const auto& t : r.tests) {
    s += "| " + t.name + " | " + std::to_string(r.threads) + " | " + fmt("%.2f", t.tok_per_s.median) +
         " | " + fmt("%.2f", t.tok_per_s.min) + " … " + fmt("%.2f", t.tok_per_s.max) + " | " +
         fmt("%.0f %%", 100 * t.cpu_share) + " | ";
    if (t.prompt) {
      s += fmt("%.0f", t.weight_bytes / 1e6 / t.tokens) + " | | | |\n";
    } else if (t.spec_acceptance >= 0) {
      s += " | | | " + fmt("%.2f× plain", t.speedup) + " |\n";
    } else {
      s += fmt("%.1f", t.weight_bytes / 1e6) + " | " + fmt("%.1f", t.cache_bytes / 1e6) + " | " +
           fmt("%.2f", t.roofline_tok_per_s) + " | " + fmt("%.0f %%", 100 * t.fraction_of_roofline) +
           " |\n";
    }
  }
  for (const auto& t : r.tests)
    if (t.spec_acceptance >= 0)
      s += "\n" + t.name + ": " + fmt("%.2f", t.tokens_per_step) + " tokens per verify step, " +
           fmt("%.2f", t.tok_per_s.median) + " t/s, " + fmt("%.2f×", t.speedup) +
           " plain decoding (median ratio of repetitions paired with plain ones run next to "
           "them; drafts accepted with forced probability " +
           fmt("%.2f", t.spec_acceptance) + ")";
  for (const auto& t : r.snapshots)
    s += "\nsnapshot @ d" + std::to_string(t.depth) + ": " + fmt("%.1f", t.bytes / 1e6) + " MB (" +
         fmt("%.1f", t.deltanet_bytes / 1e6) + " MB DeltaNet state), save " +
         fmt("%.2f", t.snapshot_ms.median) + " ms (into reused buffers " +
         fmt("%.2f", t.recycled_snapshot_ms.median) + " ms), restore " +
         fmt("%.2f", t.restore_ms.median) +
         " ms (medians; restore " + fmt("%.1f", t.bytes / 1e6 / t.restore_ms.median) + " GB/s)";
  s += "\npp: weights MB/tok = weights read by the whole prefill / prompt tokens (each selected "
       "expert once per batch). tg: bytes one step reads, counted from the experts the router "
       "picked; roofline = bandwidth / (weights + KV cache + DeltaNet state). CPU share: CPU "
       "time this process got / (wall time × threads) — well below 100 % means other work "
       "shared the cores.\n";
  return s;
}

nlohmann::json bench_report_json(const BenchReport& r) {
  nlohmann::json j;
  j["model_dir"] = r.model_dir;
  j["model_bytes"] = r.model_bytes;
  j["bits_per_weight"] = r.bits_per_weight;
  j["layers"] = r.layers;
  j["cpu"] = r.cpu;
  j["hardware_threads"] = r.hardware_threads;
  j["threads"] = r.threads;
  j["simd_target"] = r.simd_target;
  j["int8_fast"] = r.int8_fast;
  j["int8_kernel"] = r.int8_kernel;
  j["precision"] = r.precision;
  j["kv_type"] = r.kv_type;
  j["read_bandwidth_gbs"] = r.read_bandwidth_gbs;
  j["load_average_before"] = r.load_before;
  j["load_average_after"] = r.load_after;
  j["load_seconds"] = r.load_seconds;
  j["warm_seconds"] = r.warm_seconds;
  j["tests"] = nlohmann::json::array();
  for (const auto& t : r.tests) {
    nlohmann::json x = {{"name", t.name},
                        {"kind", t.prompt ? "pp" : "tg"},
                        {"tokens", t.tokens},
                        {"depth", t.depth},
                        {"parallel", t.parallel},
                        {"tok_per_s", {{"median", t.tok_per_s.median},
                                       {"min", t.tok_per_s.min},
                                       {"max", t.tok_per_s.max},
                                       {"mean", t.tok_per_s.mean},
                                       {"stddev", t.tok_per_s.stddev},
                                       {"samples", t.tok_per_s.samples}}},
                        {"weight_bytes", t.weight_bytes},
                        {"cpu_share", t.cpu_share}};
    if (t.spec_acceptance >= 0) {
      x["spec_acceptance"] = t.spec_acceptance;
      x["spec_drafts"] = t.spec_drafts;
      x["tokens_per_step"] = t.tokens_per_step;
      x["speedup_vs_plain"] = t.speedup;
    } else if (!t.prompt) {
      x["cache_bytes"] = t.cache_bytes;
      x["roofline_tok_per_s"] = t.roofline_tok_per_s;
      x["weights_only_roofline_tok_per_s"] = t.weights_only_roofline;
      x["fraction_of_roofline"] = t.fraction_of_roofline;
    }
    j["tests"].push_back(x);
  }
  j["snapshots"] = nlohmann::json::array();
  for (const auto& t : r.snapshots)
    j["snapshots"].push_back({{"depth", t.depth},
                              {"bytes", t.bytes},
                              {"deltanet_bytes", t.deltanet_bytes},
                              {"snapshot_ms", t.snapshot_ms.samples},
                              {"recycled_snapshot_ms", t.recycled_snapshot_ms.samples},
                              {"restore_ms", t.restore_ms.samples},
                              {"snapshot_ms_median", t.snapshot_ms.median},
                              {"recycled_snapshot_ms_median", t.recycled_snapshot_ms.median},
                              {"restore_ms_median", t.restore_ms.median}});
  return j;
}

}  // namespace tf
