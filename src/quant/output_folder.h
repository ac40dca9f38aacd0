// The model folder `convert` and `synth` write (--out), made crash safe and safe for the data
// around it.
//
// Crash safety: everything goes into a hidden sibling (`.NAME.tightfit-partial-PID`) that
// commit() renames into place once complete, so an interrupted or failed run never leaves a
// folder that looks like a model. A run that is stopped (Ctrl-C, SIGTERM: the cancel flag)
// removes its sibling on the way out; one that is killed outright leaves it, and the next run for
// the same --out removes the siblings whose process is gone, saying so.
//
// Data safety: tightfit only ever deletes what it wrote. An existing --out must be empty, or,
// with --force, recognisably a previous tightfit output (is_previous_output below); anything else
// is refused with a message that says what to do. The caller also refuses an --out that is or
// contains its input (refuse_output_over_input).
#pragma once

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>

#include <nlohmann/json_fwd.hpp>

namespace tf {

// Why `dir` is not a folder --force may replace, or "" when it is one: a previous output of
// tightfit (or of mlx-lm, which writes the same files). That is a folder that holds
//  - only regular files (no subfolders, no symbolic links), each named as tightfit names what it
//    writes (quant/model_files.h): config.json, model.safetensors or
//    model-NNNNN-of-NNNNN.safetensors, model.safetensors.index.json, and the tokenizer, chat
//    template, generation / processor configs and license files convert copies;
//  - config.json and at least one .safetensors file;
//  - safetensors files whose header says `"format": "mlx"`: the MLX layout tightfit writes,
//    never an original Hugging Face checkpoint ("pt"), which may not be deleted.
// A file the user added (notes, a README, an image), a subfolder or an original checkpoint makes
// it something else.
std::string why_not_previous_output(const std::filesystem::path& dir);

// Throws when `out` is the input folder `input` or contains it (then --force would delete the
// input along with the old output). An `out` inside `input` is allowed: nothing of the input is
// replaced.
void refuse_output_over_input(const std::string& out, const std::string& input);

struct OutputFolder {
  std::filesystem::path final_dir;  // --out, absolute
  std::filesystem::path work_dir;   // the hidden sibling written meanwhile
  bool done = false;

  // Throws when `out` exists and is not an empty folder, unless `force` and it is a previous
  // output (why_not_previous_output); then commit() replaces it. Removes the partial siblings
  // of earlier runs whose process is gone and creates the work folder, so an --out that cannot
  // be written fails here, before the long work. Notices (what was removed) go to `notices`
  // (nullptr: silent). `cancel`, when set, is the flag throw_if_cancelled reads.
  OutputFolder(const std::string& out, bool force, std::FILE* notices = nullptr,
               const std::atomic<bool>* cancel = nullptr);
  // Removes the work folder unless committed.
  ~OutputFolder();
  OutputFolder(const OutputFolder&) = delete;
  OutputFolder& operator=(const OutputFolder&) = delete;

  // Throws Cancelled (quant/cancelled.h) when the cancel flag is set. The writers call it once
  // per slab or batch (a fraction of a second of work), so a stop request is honoured promptly;
  // the unwinding then removes the work folder.
  void throw_if_cancelled() const;
  // Throws when the filesystem holding the folder has less than `bytes` (plus a margin) free.
  void check_free_space(uint64_t bytes) const;
  // Writes `config` as the work folder's config.json (4-space indented). Call it last: a folder
  // without config.json is not a model to any loader.
  void write_config(const nlohmann::json& config) const;
  // Renames the work folder to final_dir. An old final_dir is moved aside first and removed once
  // the new one is in place — unless it gained other content during the run (it was checked
  // when the run began); then it is kept aside and the notice says where.
  void commit();

 private:
  bool force_;
  std::FILE* notices_;
  const std::atomic<bool>* cancel_;
};

}  // namespace tf
