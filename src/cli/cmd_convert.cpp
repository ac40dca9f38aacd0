// `tightfit convert`: convert a Hugging Face checkpoint to a mixed-precision MLX-layout checkpoint
// with a recipe (quant/recipe.h); `--dry-run` prints the plan's table without reading weights.
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/cli_io.h"
#include "cli/commands.h"
#include "cli/interrupt.h"
#include "cli/model_flag.h"
#include "cli/threads_flag.h"
#include "quant/converter.h"
#include "runtime/memory_plan.h"

namespace tf::cli {

namespace {

struct ConvertArgs {
  std::string hf, out, recipe = "dynamic", dtype = "bf16", rounding = "even", report_json, show_recipe;
  int group_size = 0, threads = 0;
  uint64_t shard_mb = 5120, work_mb = 256;
  bool text_only = false, keep_mtp = false, dry_run = false, force = false, list = false;
};

void print_warnings(const ConvertPlan& plan) {
  for (const auto& w : plan.warnings) std::fprintf(stderr, "tightfit: warning: %s\n", w.c_str());
}

void run_convert(const ConvertArgs& a) {
  if (a.list) {
    for (const auto& name : builtin_recipe_names())
      std::printf("%-11s %s\n", name.c_str(), builtin_recipe(name)->description.c_str());
    return;
  }
  if (!a.show_recipe.empty()) {
    std::printf("%s\n", Recipe::load(a.show_recipe).to_json().dump(2).c_str());
    return;
  }
  if (a.hf.empty()) throw UsageError("--hf DIR|ORG/NAME is required");
  if (a.out.empty() && !a.dry_run) throw UsageError("--out DIR is required (or pass --dry-run)");
  if (a.group_size && !is_valid_group_size(a.group_size))
    throw UsageError("--group-size must be 32, 64 or 128");
  if (a.dtype != "bf16" && a.dtype != "f16") throw UsageError("--dtype must be bf16 or f16");
  if (a.rounding != "even" && a.rounding != "away") throw UsageError("--rounding must be even or away");
  if (a.shard_mb == 0 || a.work_mb == 0) throw UsageError("--shard-mb and --work-mb must be positive");
  if (!a.report_json.empty()) check_output_file(a.report_json, "--report-json");

  ConvertOptions o;
  o.hf_dir = resolve_model_flag(a.hf, "--hf").dir.string();
  o.out_dir = a.out;
  o.recipe = Recipe::load(a.recipe);
  if (a.group_size) o.recipe.group_size = a.group_size;
  o.plan.text_only = a.text_only;
  o.plan.keep_mtp = a.keep_mtp;
  o.plan.dtype = a.dtype == "f16" ? DType::F16 : DType::BF16;
  o.force = a.force;
  o.max_shard_bytes = a.shard_mb << 20;
  o.work_bytes = a.work_mb << 20;
  o.threads = a.threads;
  o.rounding = a.rounding == "away" ? AffineRounding::HalfAway : AffineRounding::HalfEven;
  o.progress = stderr;
  o.progress_tty = isatty(fileno(stderr));
  StopOnSignals stop;  // Ctrl-C / SIGTERM: stop within a slab and remove the unfinished output
  o.cancel = &StopOnSignals::flag();

  ConvertResult r;
  if (a.dry_run) {
    r = plan_folder(o);
    print_warnings(r.plan);
    std::printf("dry run: %s, planned from %s (no weights read)\n\n", a.hf.c_str(),
                r.from_config_only ? "config.json alone" : "config.json and the safetensors headers");
  } else {
    r = convert_checkpoint(o);
    print_warnings(r.plan);
  }
  const LoadMemoryEstimate memory = load_memory_estimate(r.config, r.plan, 4096);
  std::printf("%s", format_convert_report(r, o.recipe, memory).c_str());
  for (const auto& w : r.summary.warnings) std::fprintf(stderr, "tightfit: warning: %s\n", w.c_str());
  if (!a.dry_run) {
    for (const auto& s : r.skipped_files) std::printf("not copied: %s\n", s.c_str());
    std::printf("wrote %s: %zu files in %.1f s; peak resident memory of the conversion %s\n",
                a.out.c_str(), r.files.size(), r.seconds, human_bytes(r.peak_rss_bytes).c_str());
  }
  if (!a.report_json.empty()) {
    std::ofstream out(a.report_json);
    out << convert_report_json(r, o.recipe, a.dry_run, memory).dump(2) << "\n";
    if (!out) throw std::runtime_error(a.report_json + ": cannot write");
  }
}

}  // namespace

void add_convert_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "convert", "Convert a Hugging Face checkpoint to a mixed-precision MLX-layout checkpoint");
  auto a = std::make_shared<ConvertArgs>();
  cmd->add_option("--hf,--hf-path", a->hf,
                  "Hugging Face model folder (config.json + safetensors), or a repo id "
                  "(org/name[@revision]) taken from the local cache or downloaded");
  cmd->add_option("--out", a->out, "output folder (written in a hidden sibling, renamed when complete)");
  cmd->add_option("--recipe", a->recipe,
                  "preset (dynamic, uniform-2/3/4, tight, edge-boost, mixed-2-6) or a recipe JSON file")
      ->capture_default_str();
  cmd->add_option("--group-size", a->group_size, "group size for rules that give none (32, 64, 128; default: the recipe's)");
  cmd->add_option("--dtype", a->dtype, "float dtype of dense tensors, scales and biases: bf16 or f16")
      ->capture_default_str();
  cmd->add_flag("--text-only", a->text_only, "drop the vision tower: an mlx-lm style text checkpoint");
  cmd->add_flag("--keep-mtp", a->keep_mtp, "keep the multi-token-prediction head (mtp.*), quantized by the same rules");
  cmd->add_flag("--dry-run", a->dry_run, "print the plan (per-role table, size, bpw) without reading weights");
  cmd->add_flag("--force", a->force,
                "replace --out if it is a previous tightfit output (never a folder with other files)");
  cmd->add_option("--report-json", a->report_json, "also write the report as JSON to this file");
  cmd->add_option("--shard-mb", a->shard_mb, "maximum shard size in MiB")->capture_default_str();
  cmd->add_option("--work-mb", a->work_mb, "memory for slab buffers in MiB (bounds resident memory)")
      ->capture_default_str();
  add_threads_flag(cmd, a->threads);
  cmd->add_option("--rounding", a->rounding,
                  "quantizer rounding: even (MLX CPU kernel) or away (MLX Metal kernel)")
      ->capture_default_str();
  cmd->add_flag("--list-recipes", a->list, "list the built-in recipes and exit");
  cmd->add_option("--show-recipe", a->show_recipe, "print a recipe (preset or file) as JSON and exit");
  cmd->callback([a] { run_convert(*a); });
}

}  // namespace tf::cli
