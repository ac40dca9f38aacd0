// `tightfit synth`: write a random-weight checkpoint at real shapes in quantized MLX layout
// (quant/synth.h), for speed measurements without the real weights (`tightfit bench`).
#include <unistd.h>

#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/interrupt.h"
#include "cli/threads_flag.h"
#include "quant/model_summary.h"
#include "quant/synth.h"
#include "runtime/peak_memory.h"

namespace tf::cli {

namespace {

struct SynthArgs {
  std::string config, recipe = "dynamic", out, dtype = "bf16";
  int layers = 0, threads = 0;
  bool mtp = false;
  uint64_t seed = 0, shard_mb = 5120;
  bool force = false, dry_run = false;
};

void run_synth(const SynthArgs& a) {
  if (a.config.empty()) throw UsageError("--config NAME|PATH is required (e.g. --config qwen3.5-35b-a3b)");
  if (a.out.empty() && !a.dry_run) throw UsageError("--out DIR is required (or pass --dry-run)");
  if (a.layers < 0) throw UsageError("--layers must be positive");
  if (a.dtype != "bf16" && a.dtype != "f16") throw UsageError("--dtype must be bf16 or f16");
  if (a.shard_mb == 0) throw UsageError("--shard-mb must be positive");

  SynthOptions o;
  o.out_dir = a.out;
  o.recipe = Recipe::load(a.recipe);
  o.layers = a.layers;
  o.mtp = a.mtp;
  o.seed = a.seed;
  o.force = a.force;
  o.dtype = a.dtype == "f16" ? DType::F16 : DType::BF16;
  o.max_shard_bytes = a.shard_mb << 20;
  o.threads = a.threads;
  o.progress = stderr;
  o.progress_tty = isatty(fileno(stderr));
  StopOnSignals stop;  // Ctrl-C / SIGTERM: stop within a batch and remove the unfinished output
  o.cancel = &StopOnSignals::flag();

  const nlohmann::json config = load_synth_config(a.config);
  ConvertPlan plan;
  std::vector<std::string> files;
  double seconds = 0;
  if (a.dry_run) {
    plan = plan_synth(config, o);
  } else {
    SynthResult r = synth_checkpoint(config, o);
    plan = std::move(r.plan);
    files = std::move(r.files);
    seconds = r.seconds;
  }
  for (const auto& w : plan.warnings) std::fprintf(stderr, "tightfit: warning: %s\n", w.c_str());
  const ModelSummary s =
      summarize_model(plan.output_specs(), plan.quantization ? &*plan.quantization : nullptr);
  std::printf("synthetic %s, recipe %s, seed %llu%s\n\n", a.config.c_str(), o.recipe.name.c_str(),
              static_cast<unsigned long long>(a.seed),
              a.layers ? (", first " + std::to_string(a.layers) + " layers").c_str() : "");
  std::printf("%s", format_role_table(s).c_str());
  if (a.dry_run) {
    std::printf("dry run: would write %s\n", human_bytes(plan.output_bytes()).c_str());
    return;
  }
  std::printf("wrote %s: %zu files, %s in %.1f s (%.2f GB/s); peak resident memory %s\n",
              a.out.c_str(), files.size(), human_bytes(plan.output_bytes()).c_str(), seconds,
              seconds > 0 ? plan.output_bytes() / seconds / 1e9 : 0.0,
              format_bytes(peak_rss_bytes()).c_str());
}

}  // namespace

void add_synth_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "synth", "Write a random-weight checkpoint at real shapes in quantized MLX layout");
  auto a = std::make_shared<SynthArgs>();
  cmd->add_option("--config", a->config,
                  "built-in preset (qwen3.5-35b-a3b), a config.json, or a model folder");
  cmd->add_option("--recipe", a->recipe,
                  "quantization recipe: preset (dynamic, uniform-2/3/4, tight, edge-boost, "
                  "mixed-2-6) or a recipe JSON file")
      ->capture_default_str();
  cmd->add_option("--out", a->out, "output folder (written in a hidden sibling, renamed when complete)");
  cmd->add_option("--layers", a->layers, "keep only the first K decoder layers (real widths)");
  cmd->add_flag("--mtp", a->mtp, "also write the multi-token-prediction head (mtp.*) for speculative decoding");
  cmd->add_option("--seed", a->seed, "random seed (same seed, same bytes)")->capture_default_str();
  cmd->add_option("--dtype", a->dtype, "dense tensors, scales and biases: bf16 or f16")
      ->capture_default_str();
  cmd->add_option("--shard-mb", a->shard_mb, "maximum shard size in MiB")->capture_default_str();
  add_threads_flag(cmd, a->threads);
  cmd->add_flag("--force", a->force,
                "replace --out if it is a previous tightfit output (never a folder with other files)");
  cmd->add_flag("--dry-run", a->dry_run, "print the per-role table and size without writing");
  cmd->callback([a] { run_synth(*a); });
}

}  // namespace tf::cli
