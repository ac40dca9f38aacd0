// Orchestration of `convert` (see converter.h): plan, write into a hidden sibling folder, copy the
// tokenizer / template / processor files, write config.json last, rename into place.
#include "quant/converter.h"

#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "base/input_error.h"
#include "base/json_read.h"
#include "kernels/thread_pool.h"
#include "quant/convert_stream.h"
#include "quant/hf_shape_plan.h"
#include "quant/model_files.h"
#include "quant/output_folder.h"
#include "storage/safetensors.h"
#include "storage/safetensors_writer.h"
#include "storage/tensor_names.h"

namespace tf {

namespace fs = std::filesystem;

namespace {

nlohmann::json read_config_json(const std::string& dir) {
  const std::string path = (fs::path(dir) / "config.json").string();
  if (!fs::exists(path)) throw InputError(path + ": cannot open (is --hf a Hugging Face model folder?)");
  return read_json_file(path);
}

bool has_safetensors(const std::string& dir) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.path().extension() == ".safetensors" || e.path().filename() == "model.safetensors.index.json")
      return true;
  return false;
}

// This process's peak resident memory. Linux: VmHWM of the current address space — unlike
// getrusage's ru_maxrss it does not include what a parent held before fork + exec.
int64_t peak_rss_bytes() {
  if (std::FILE* f = std::fopen("/proc/self/status", "r")) {
    char line[256];
    long kb = -1;
    while (std::fgets(line, sizeof line, f))
      if (std::sscanf(line, "VmHWM: %ld kB", &kb) == 1) break;
    std::fclose(f);
    if (kb >= 0) return static_cast<int64_t>(kb) * 1024;
  }
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
#ifdef __APPLE__
  return u.ru_maxrss;  // bytes on macOS
#else
  return static_cast<int64_t>(u.ru_maxrss) * 1024;  // KiB on Linux
#endif
}

struct Planned {
  ModelConfig config;
  ConvertPlan plan;
  bool from_config_only = false;
  std::unique_ptr<Checkpoint> checkpoint;  // null when planned from config alone
};

Planned plan_input(const ConvertOptions& o, bool need_weights) {
  if (o.hf_dir.empty()) throw std::runtime_error("no input folder given (--hf DIR)");
  if (!fs::is_directory(o.hf_dir)) throw InputError(o.hf_dir + ": not a folder");
  const nlohmann::json raw = read_config_json(o.hf_dir);
  const std::string source = (fs::path(o.hf_dir) / "config.json").string();
  check_supported_architecture(raw, source);
  Planned p;
  p.config = ModelConfig::from_json(raw, source);
  if (p.config.quantization)
    throw InputError(source + " has a quantization block: this is already a quantized "
                             "MLX checkpoint; convert reads bf16/f16 Hugging Face checkpoints");
  std::vector<TensorSpec> specs;
  if (has_safetensors(o.hf_dir)) {
    p.checkpoint = Checkpoint::open(o.hf_dir);
    specs = p.checkpoint->specs();
    std::vector<std::string> names;
    for (const auto& s : specs) names.push_back(s.name);
    const CheckpointFlavour f = detect_flavour(names);
    if (f == CheckpointFlavour::MlxLm || f == CheckpointFlavour::MlxVlm)
      throw InputError(o.hf_dir + " is already in " + flavour_name(f) +
                               " layout; convert reads Hugging Face checkpoints");
  } else if (need_weights) {
    throw InputError(o.hf_dir + ": no model.safetensors, model-*.safetensors or "
                             "model.safetensors.index.json (use --dry-run to plan from config.json alone)");
  } else {
    specs = hf_tensor_specs(p.config, {});
    p.from_config_only = true;
  }
  p.plan = plan_conversion(specs, p.config, o.recipe, o.plan);
  return p;
}

ConvertResult result_of(Planned& p) {
  ConvertResult r;
  r.summary = summarize_model(p.plan.output_specs(), p.plan.quantization ? &*p.plan.quantization : nullptr);
  r.config = std::move(p.config);
  r.plan = std::move(p.plan);
  r.from_config_only = p.from_config_only;
  return r;
}

}  // namespace

ConvertResult plan_folder(const ConvertOptions& o) {
  Planned p = plan_input(o, false);
  return result_of(p);
}

ConvertResult convert_checkpoint(const ConvertOptions& o) {
  const auto start = std::chrono::steady_clock::now();
  if (o.out_dir.empty()) throw std::runtime_error("no output folder given (--out DIR)");
  refuse_output_over_input(o.out_dir, o.hf_dir);
  Planned p = plan_input(o, true);
  ConvertResult r;
  OutputFolder folder(o.out_dir, o.force, o.progress, o.cancel);
  folder.check_free_space(p.plan.output_bytes());

  {
    ShardedSafetensorsWriter writer(folder.work_dir.string(), p.plan.output_specs(),
                                    o.max_shard_bytes, {{"format", "mlx"}});
    ThreadPool pool(o.threads);
    ConvertProgress progress(o.progress, o.progress_tty, p.plan.input_bytes());
    uint64_t done = 0;
    const std::string* current = nullptr;
    TensorStreamer streamer(*p.checkpoint, writer, pool, o.work_bytes, o.rounding, [&](uint64_t n) {
      done += n;
      progress.update(done, *current);
      folder.throw_if_cancelled();
    });
    for (const auto& t : p.plan.tensors) {
      current = &t.name;
      r.bytes_written += streamer.write(t, p.plan.dtype);
    }
    for (auto& f : writer.finish()) r.files.push_back(f);
    progress.finish();
  }

  for (const auto& e : fs::directory_iterator(o.hf_dir)) {
    const std::string name = e.path().filename().string();
    if (!e.is_regular_file() || !is_auxiliary_file(name)) continue;
    if (!p.plan.has_vision && is_vision_processor_file(name)) {
      r.skipped_files.push_back(name + ": image/video processor settings, no vision tower written");
      continue;
    }
    fs::copy_file(e.path(), folder.work_dir / name, fs::copy_options::overwrite_existing);
    r.files.push_back(name);
  }
  // config.json last: a folder without it is not a model to any loader.
  folder.write_config(output_config(p.config, p.plan));
  r.files.push_back("config.json");
  folder.throw_if_cancelled();  // a stop requested while the shards were closed
  folder.commit();

  ConvertResult summary = result_of(p);
  summary.files = std::move(r.files);
  summary.skipped_files = std::move(r.skipped_files);
  summary.bytes_written = r.bytes_written;
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  summary.peak_rss_bytes = peak_rss_bytes();
  return summary;
}

}  // namespace tf
