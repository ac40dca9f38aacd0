// What `--model` names: a local folder, or a Hugging Face repo id ("org/name[@revision]")
// looked up in the local cache (hub_cache.h) and downloaded when missing (hub_download.h).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "runtime/hub_cache.h"
#include "runtime/hub_download.h"

namespace tf {

struct ResolvedModel {
  std::filesystem::path dir;  // the folder to load (a snapshot folder for repo ids)
  std::string repo_id;        // empty for a local folder
  std::string revision;       // as asked ("main" by default)
  std::string commit;         // the snapshot's commit sha (repo ids only)
  bool downloaded = false;    // files were fetched in this call
};

// Options for an interactive command: progress on stderr, redrawn in place when stderr is a
// terminal, plain lines otherwise.
DownloadOptions terminal_download_options();

// Resolution order:
//   1. an existing folder (a leading "~/" is expanded) is used as is;
//   2. a repo id whose revision has a complete snapshot in the cache is used without any
//      network access (so a cached model works offline and starts instantly; a moved branch is
//      picked up only when its snapshot is missing);
//   3. otherwise, unless settings.offline, the repo is downloaded.
// Throws ModelNotFoundError (one line starting "FLAG SPEC: ", `flag` being the command-line
// flag that named the model: no such folder / not a repo id / not on the Hub / offline and not
// cached), std::runtime_error for network and disk failures.
ResolvedModel resolve_model(std::string_view spec, const HubSettings& settings,
                            const DownloadOptions& options, std::string_view flag = "--model");

}  // namespace tf
