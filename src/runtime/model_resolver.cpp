#include "runtime/model_resolver.h"

#include <unistd.h>

#include <cstdlib>
#include <iostream>

namespace tf {

namespace fs = std::filesystem;

namespace {

fs::path expand_home(std::string_view spec) {
  if (spec.starts_with("~/")) {
    if (const char* home = std::getenv("HOME")) return fs::path(home) / spec.substr(2);
  }
  return fs::path(spec);
}

// Looks like a file system path rather than a repo id.
bool path_like(std::string_view spec) {
  return spec.starts_with("/") || spec.starts_with("./") || spec.starts_with("../") ||
         spec.starts_with("~") || spec == "." || spec == "..";
}

}  // namespace

DownloadOptions terminal_download_options() {
  DownloadOptions options;
  options.progress = &std::cerr;
  options.progress_tty = ::isatty(STDERR_FILENO) == 1;
  return options;
}

ResolvedModel resolve_model(std::string_view spec, const HubSettings& settings,
                            const DownloadOptions& options, std::string_view flag) {
  const std::string named = std::string(flag) + " " + std::string(spec) + ": ";
  ResolvedModel out;
  if (spec.empty())
    throw ModelNotFoundError(std::string(flag) + ": no model given (a folder or org/name)");
  const fs::path local = expand_home(spec);
  std::error_code ec;
  if (fs::is_directory(local, ec)) {
    out.dir = local;
    return out;
  }
  if (fs::exists(local, ec)) {
    throw ModelNotFoundError(named + "is a file; give the model's folder (the one with config.json)");
  }
  const auto ref = parse_repo_ref(spec);
  if (path_like(spec) || !ref) {
    throw ModelNotFoundError(named + "no such folder, and not a Hugging Face repo id (org/name or "
                             "org/name@revision)");
  }
  out.repo_id = ref->repo_id;
  out.revision = ref->revision;
  if (auto snapshot = find_cached_snapshot(settings.cache_dir, *ref)) {
    out.dir = *snapshot;
    out.commit = snapshot->filename().string();
    return out;
  }
  try {
    out.dir = download_snapshot(settings, *ref, options);
  } catch (const ModelNotFoundError& e) {
    throw ModelNotFoundError(named + e.what());  // the Hub's answer, said of the flag
  }
  out.commit = out.dir.filename().string();
  out.downloaded = true;
  return out;
}

}  // namespace tf
