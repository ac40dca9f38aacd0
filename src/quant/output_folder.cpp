#include "quant/output_folder.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "base/input_error.h"
#include "quant/cancelled.h"
#include "quant/model_files.h"
#include "quant/model_summary.h"
#include "storage/safetensors.h"
#include "storage/tensor_names.h"

namespace tf {

namespace fs = std::filesystem;

namespace {

const std::string kPartialTag = "partial";

// `.NAME.tightfit-TAG-` (the PID follows) next to `dir`.
std::string hidden_sibling_prefix(const fs::path& dir, const std::string& tag) {
  return "." + dir.filename().string() + ".tightfit-" + tag + "-";
}

fs::path hidden_sibling(const fs::path& dir, const std::string& tag, long pid) {
  return dir.parent_path() / (hidden_sibling_prefix(dir, tag) + std::to_string(pid));
}

// The process id that ends `name` after `prefix`, or -1 when it is not exactly that.
long pid_after(const std::string& name, const std::string& prefix) {
  if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) return -1;
  const std::string digits = name.substr(prefix.size());
  if (digits.size() > 9 || !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) return -1;
  return std::stol(digits);
}

// False only when no process has this id (kill's ESRCH); a process of another user (EPERM)
// is alive.
bool process_is_running(long pid) { return kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH; }

// Removes the partial folders earlier runs for `final_dir` left when they were killed outright
// (SIGKILL, power loss): those whose process is gone.
void remove_stale_partials(const fs::path& final_dir, std::FILE* notices) {
  const std::string prefix = hidden_sibling_prefix(final_dir, kPartialTag);
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(final_dir.parent_path(), ec)) {
    const long pid = pid_after(e.path().filename().string(), prefix);
    if (pid <= 0 || pid == getpid() || process_is_running(pid)) continue;
    std::error_code rm;
    fs::remove_all(e.path(), rm);
    if (!notices) continue;
    if (rm)
      std::fprintf(notices, "tightfit: warning: cannot remove %s, left by an interrupted run: %s\n",
                   e.path().c_str(), rm.message().c_str());
    else
      std::fprintf(notices, "tightfit: removed %s, left by an interrupted run (process %ld)\n",
                   e.path().c_str(), pid);
  }
}

// `p` absolute, with symbolic links resolved as far as it exists and no trailing separator.
fs::path resolved(const fs::path& p) {
  fs::path r = fs::weakly_canonical(fs::absolute(p)).lexically_normal();
  if (r.filename().empty()) r = r.parent_path();
  return r;
}

// Whether `inner` is `outer` or lies below it.
bool is_within(const fs::path& inner, const fs::path& outer) {
  auto o = outer.begin();
  for (auto i = inner.begin(); o != outer.end(); ++i, ++o)
    if (i == inner.end() || *i != *o) return false;
  return true;
}

}  // namespace

std::string why_not_previous_output(const fs::path& dir) {
  bool has_config = false, has_weights = false;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    const fs::file_status s = e.symlink_status();
    if (fs::is_directory(s)) return "a subfolder, " + name;
    if (!fs::is_regular_file(s)) return name + ", which is not a plain file";
    if (!is_model_file_tightfit_writes(name)) return name + ", which tightfit does not write";
    has_config |= name == "config.json";
    if (!ends_with(name, ".safetensors")) continue;
    has_weights = true;
    std::string format;
    try {
      const auto file = SafetensorsFile::open(e.path().string());
      const auto it = file->metadata().find("format");
      if (it != file->metadata().end()) format = it->second;
    } catch (const std::exception& err) {
      return name + ", which is not a readable safetensors file";
    }
    if (format != "mlx")
      return name + ", a checkpoint in format \"" + format + "\" (tightfit writes \"mlx\": this "
             "looks like an original, not an output)";
  }
  if (ec) return "content that cannot be listed (" + ec.message() + ")";
  if (!has_config) return "no config.json";
  if (!has_weights) return "no .safetensors file";
  return "";
}

void refuse_output_over_input(const std::string& out, const std::string& input) {
  const fs::path o = resolved(out), i = resolved(input);
  if (o == i)
    throw InputError("--out " + out + " is the input folder; write the output to a "
                             "folder of its own, e.g. --out " + i.string() + "-tf");
  if (is_within(i, o))
    throw InputError("--out " + out + " contains the input " + input +
                             "; write the output to a folder of its own, e.g. --out " +
                             i.string() + "-tf");
}

OutputFolder::OutputFolder(const std::string& out, bool force, std::FILE* notices,
                           const std::atomic<bool>* cancel)
    : final_dir(fs::absolute(out).lexically_normal()), force_(force), notices_(notices),
      cancel_(cancel) {
  if (final_dir.filename().empty()) final_dir = final_dir.parent_path();
  std::error_code ec;
  if (fs::exists(final_dir)) {
    if (!fs::is_directory(final_dir))
      throw InputError(final_dir.string() + " exists and is not a folder; choose another --out");
    if (!fs::is_empty(final_dir, ec)) {
      if (!force)
        throw InputError(final_dir.string() + " already exists and is not empty; choose "
                                 "another --out, or pass --force to replace it if it is a "
                                 "previous output of tightfit");
      const std::string why = why_not_previous_output(final_dir);
      if (!why.empty())
        throw InputError("--force replaces only a previous tightfit output, and " +
                                 final_dir.string() + " holds " + why +
                                 "; choose another --out, or move or delete that folder yourself");
    }
  }
  fs::create_directories(final_dir.parent_path(), ec);
  remove_stale_partials(final_dir, notices_);
  work_dir = hidden_sibling(final_dir, kPartialTag, getpid());
  fs::remove_all(work_dir, ec);  // same PID as ours: certainly a dead run's
  if (!fs::create_directory(work_dir, ec) || ec)
    throw std::runtime_error("cannot create " + work_dir.string() + " (" +
                             (ec ? ec.message() : "it exists") +
                             "); choose an --out in a folder you can write to");
}

OutputFolder::~OutputFolder() {
  if (done) return;
  std::error_code ec;
  fs::remove_all(work_dir, ec);  // a failed or stopped run leaves nothing behind
  if (ec && notices_)
    std::fprintf(notices_, "tightfit: warning: cannot remove the unfinished output %s: %s\n",
                 work_dir.c_str(), ec.message().c_str());
}

void OutputFolder::throw_if_cancelled() const {
  if (cancel_ && cancel_->load(std::memory_order_relaxed))
    throw Cancelled("interrupted: removed the unfinished output " + work_dir.string());
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
    old = hidden_sibling(final_dir, "old", getpid());
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
  if (old.empty()) return;
  // Checked again: the folder was empty or a previous output when the run began, but the run
  // may have taken hours.
  const bool empty = fs::is_empty(old, ec);
  if ((empty && !ec) || (force_ && why_not_previous_output(old).empty())) {
    fs::remove_all(old, ec);
  } else if (notices_) {
    std::fprintf(notices_, "tightfit: %s gained other files during the run; the old folder is "
                 "kept as %s\n", final_dir.c_str(), old.c_str());
  }
}

}  // namespace tf
