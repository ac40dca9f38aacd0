// Downloading a model repo from the Hugging Face Hub (or any server with the same API, via
// $HF_ENDPOINT) into the local cache layout of hub_cache.h:
//   GET {endpoint}/api/models/{repo}/revision/{rev}?blobs=true  → {"sha", "siblings": [...]}
//   GET {endpoint}/{repo}/resolve/{commit}/{file}                → the file (redirects followed)
// Each file goes to blobs/<id>.incomplete first (resumed with a Range request after a dropped
// connection or an earlier interrupted run), is renamed into blobs/ when complete, and linked
// from snapshots/<commit>/. HF_TOKEN is sent as a bearer token (never to redirect targets on
// other hosts: libcurl drops custom Authorization headers there).
#pragma once

#include <cstdint>
#include <filesystem>
#include <ostream>
#include <string>
#include <vector>

#include "runtime/hub_cache.h"

namespace tf {

struct RepoFile {
  std::string path;     // "model-00001-of-00002.safetensors"
  std::string blob_id;  // sha256 (LFS) or git blob sha1; empty if the listing did not say
  int64_t size = -1;    // -1 = unknown
};

struct RepoListing {
  std::string commit;  // 40-hex sha the revision resolved to
  std::vector<RepoFile> files;
};

// The files an inference engine needs from a model repo, top level only: configs, index and
// tokenizer JSON files, chat templates, tokenizer vocabularies, safetensors weights.
std::vector<std::string> default_model_patterns();

// fnmatch-style match of a repo path against the patterns ('*' never crosses '/').
bool matches_any(const std::string& path, const std::vector<std::string>& patterns);

struct DownloadOptions {
  std::vector<std::string> allow_patterns = default_model_patterns();
  std::ostream* progress = nullptr;  // where progress goes (null: silent)
  bool progress_tty = false;         // redraw a bar in place instead of printing lines
  int max_attempts = 5;              // per request, for connection drops and 5xx answers
  int retry_delay_ms = 1000;         // doubled after each failed attempt
  long stall_timeout_s = 60;         // give up on a connection silent for this long
};

// The listing of a revision. Throws ModelNotFoundError (repo / revision missing or gated,
// with what to do), std::runtime_error for network failures and malformed answers.
RepoListing fetch_repo_listing(const HubSettings& settings, const RepoRef& ref,
                               const DownloadOptions& options = {});

// Downloads whatever of the wanted files the cache lacks, writes refs/<revision>, and returns
// snapshots/<commit>. Throws like fetch_repo_listing, plus: disk full (before starting when
// the sizes are known, or on a failed write), a download still failing after max_attempts.
std::filesystem::path download_snapshot(const HubSettings& settings, const RepoRef& ref,
                                        const DownloadOptions& options);

}  // namespace tf
