// The model folder `convert` and `synth` write (--out), made crash safe: everything goes into a
// hidden sibling (`.NAME.tightfit-partial-PID`) that commit() renames into place once complete,
// so an interrupted or failed run never leaves a folder that looks like a model.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

namespace tf {

struct OutputFolder {
  std::filesystem::path final_dir;  // --out, absolute
  std::filesystem::path work_dir;   // the hidden sibling written meanwhile
  bool done = false;

  // Throws when `out` exists and is not an empty folder, unless `force` (then commit() replaces
  // it). Creates the work folder.
  OutputFolder(const std::string& out, bool force);
  // Removes the work folder unless committed.
  ~OutputFolder();
  OutputFolder(const OutputFolder&) = delete;
  OutputFolder& operator=(const OutputFolder&) = delete;

  // Throws when the filesystem holding the folder has less than `bytes` (plus a margin) free.
  void check_free_space(uint64_t bytes) const;
  // Writes `config` as the work folder's config.json (4-space indented). Call it last: a folder
  // without config.json is not a model to any loader.
  void write_config(const nlohmann::json& config) const;
  // Renames the work folder to final_dir; an old final_dir is moved aside first and removed
  // once the new one is in place.
  void commit();
};

}  // namespace tf
