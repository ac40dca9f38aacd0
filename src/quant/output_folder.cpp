#include "quant/output_folder.h"

#include <unistd.h>

#include <fstream>
#include <stdexcept>

#include "quant/model_summary.h"

namespace tf {

namespace fs = std::filesystem;

namespace {

// `.NAME.tightfit-TAG-PID` next to `dir`.
fs::path hidden_sibling(const fs::path& dir, const char* tag) {
  return dir.parent_path() /
         ("." + dir.filename().string() + ".tightfit-" + tag + "-" + std::to_string(getpid()));
}

}  // namespace

OutputFolder::OutputFolder(const std::string& out, bool force)
    : final_dir(fs::absolute(out).lexically_normal()) {
  if (final_dir.filename().empty()) final_dir = final_dir.parent_path();
  std::error_code ec;
  if (fs::exists(final_dir) && !(fs::is_directory(final_dir) && fs::is_empty(final_dir, ec)) &&
      !force)
    throw std::runtime_error(final_dir.string() + " already exists and is not empty; choose "
                             "another --out or pass --force to replace it");
  fs::create_directories(final_dir.parent_path());
  work_dir = hidden_sibling(final_dir, "partial");
  fs::remove_all(work_dir, ec);
  fs::create_directory(work_dir);
}

OutputFolder::~OutputFolder() {
  if (done) return;
  std::error_code ec;
  fs::remove_all(work_dir, ec);  // best effort: a failed run leaves nothing behind
}

void OutputFolder::check_free_space(uint64_t bytes) const {
  std::error_code ec;
  const fs::space_info s = fs::space(work_dir, ec);
  if (ec) return;  // unknown: let the writes tell
  const uint64_t margin = 64ull << 20;
  if (s.available < bytes + margin)
    throw std::runtime_error("the output needs " + human_bytes(bytes) + " but only " +
                             human_bytes(s.available) + " are free in " +
                             final_dir.parent_path().string());
}

void OutputFolder::write_config(const nlohmann::json& config) const {
  const fs::path path = work_dir / "config.json";
  std::ofstream out(path);
  out << config.dump(4) << "\n";
  if (!out.flush()) throw std::runtime_error(path.string() + ": cannot write");
}

void OutputFolder::commit() {
  std::error_code ec;
  fs::path old;
  if (fs::exists(final_dir)) {
    old = hidden_sibling(final_dir, "old");
    fs::rename(final_dir, old, ec);
    if (ec)
      throw std::runtime_error("cannot move the old " + final_dir.string() + " aside: " +
                               ec.message());
  }
  fs::rename(work_dir, final_dir, ec);
  if (ec)
    throw std::runtime_error("cannot rename " + work_dir.string() + " to " + final_dir.string() +
                             ": " + ec.message());
  done = true;
  if (!old.empty()) fs::remove_all(old, ec);
}

}  // namespace tf
