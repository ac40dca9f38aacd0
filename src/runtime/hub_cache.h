// The local Hugging Face cache, in the layout huggingface_hub writes and reads, so models
// downloaded by either tool are shared:
//   <cache>/models--<org>--<name>/
//     refs/<revision>            text file holding the commit sha the branch/tag pointed to
//     blobs/<etag>               file contents, named by sha256 (LFS files) or git blob sha1
//     blobs/<etag>.incomplete    a download in progress (resumed from its size)
//     snapshots/<commit>/<path>  relative symlinks into ../../blobs/ (copies where symlinks fail)
// <cache> is $HF_HUB_CACHE, else $HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub, else
// ~/.cache/huggingface/hub.
#pragma once

#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "base/input_error.h"

namespace tf {

// The model the user named does not exist: no such folder, not a repo id, repo / revision /
// file not found on the Hub (or gated), or not cached while offline. The CLI reports it as bad
// input (exit code 2); other failures (network, disk) are ordinary runtime errors.
struct ModelNotFoundError : InputError {
  using InputError::InputError;
};

// Where and how to talk to the Hub; from the environment, or built by tests.
struct HubSettings {
  std::filesystem::path cache_dir;
  std::string endpoint = "https://huggingface.co";  // $HF_ENDPOINT, no trailing slash
  std::string token;                                 // $HF_TOKEN; empty = anonymous
  bool offline = false;                              // $HF_HUB_OFFLINE=1: never use the network
};

// Reads HF_HUB_CACHE (or the older HUGGINGFACE_HUB_CACHE), HF_HOME, XDG_CACHE_HOME, HOME,
// HF_ENDPOINT, HF_TOKEN and HF_HUB_OFFLINE (1/true/yes/on). Throws std::runtime_error when no
// cache location can be derived (no HOME and none of the variables set).
HubSettings hub_settings_from_env();

// "org/name" or "org/name@revision" (revision: branch, tag or commit; default "main").
struct RepoRef {
  std::string repo_id;
  std::string revision = "main";
};

// nullopt when `spec` is not of that form (org and name: letters, digits, '-', '_', '.';
// neither may start or end with '.' or '-' nor contain "..").
std::optional<RepoRef> parse_repo_ref(std::string_view spec);

// True for a full 40-hex-digit commit sha.
bool is_commit_hash(std::string_view revision);

// <cache>/models--org--name
std::filesystem::path repo_cache_dir(const std::filesystem::path& cache_dir,
                                     const std::string& repo_id);

// The commit a revision points to in the cache: the revision itself for a commit hash, else
// the content of refs/<revision>. nullopt when unknown.
std::optional<std::string> cached_commit(const std::filesystem::path& repo_dir,
                                         const std::string& revision);

// True when `dir` holds a loadable model: config.json, and either every shard named in
// model.safetensors.index.json or at least one *.safetensors file (files resolve through
// their symlinks). Downloads put weights last, so an interrupted one is never complete.
bool snapshot_complete(const std::filesystem::path& dir);

// The snapshot folder for `ref` if the cache holds a complete one, else nullopt. No network.
std::optional<std::filesystem::path> find_cached_snapshot(const std::filesystem::path& cache_dir,
                                                          const RepoRef& ref);

}  // namespace tf
