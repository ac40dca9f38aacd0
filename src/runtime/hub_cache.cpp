#include "runtime/hub_cache.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "base/json_read.h"

namespace tf {

namespace fs = std::filesystem;

namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

bool truthy(std::string v) {
  std::transform(v.begin(), v.end(), v.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return v == "1" || v == "true" || v == "yes" || v == "on";
}

bool valid_name_part(std::string_view s) {
  if (s.empty() || s.size() > 96) return false;
  for (char c : s) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) {
      return false;
    }
  }
  if (s.front() == '.' || s.front() == '-' || s.back() == '.' || s.back() == '-') return false;
  return s.find("..") == std::string_view::npos && s.find("--") == std::string_view::npos;
}

}  // namespace

HubSettings hub_settings_from_env() {
  HubSettings s;
  std::string cache = env("HF_HUB_CACHE");
  if (cache.empty()) cache = env("HUGGINGFACE_HUB_CACHE");
  if (!cache.empty()) {
    s.cache_dir = cache;
  } else if (const std::string home = env("HF_HOME"); !home.empty()) {
    s.cache_dir = fs::path(home) / "hub";
  } else if (const std::string xdg = env("XDG_CACHE_HOME"); !xdg.empty()) {
    s.cache_dir = fs::path(xdg) / "huggingface" / "hub";
  } else if (const std::string user_home = env("HOME"); !user_home.empty()) {
    s.cache_dir = fs::path(user_home) / ".cache" / "huggingface" / "hub";
  } else {
    throw std::runtime_error(
        "cannot locate the Hugging Face cache: set HF_HUB_CACHE or HF_HOME (HOME is not set)");
  }
  if (std::string endpoint = env("HF_ENDPOINT"); !endpoint.empty()) {
    while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
    s.endpoint = endpoint;
  }
  s.token = env("HF_TOKEN");
  s.offline = truthy(env("HF_HUB_OFFLINE"));
  return s;
}

std::optional<RepoRef> parse_repo_ref(std::string_view spec) {
  RepoRef ref;
  std::string_view id = spec;
  if (const size_t at = spec.find('@'); at != std::string_view::npos) {
    id = spec.substr(0, at);
    const std::string_view revision = spec.substr(at + 1);
    if (revision.empty() || revision.find_first_of(" \t\n@") != std::string_view::npos ||
        revision.find("..") != std::string_view::npos || revision.front() == '/') {
      return std::nullopt;
    }
    ref.revision = std::string(revision);
  }
  const size_t slash = id.find('/');
  if (slash == std::string_view::npos || id.find('/', slash + 1) != std::string_view::npos) {
    return std::nullopt;
  }
  if (!valid_name_part(id.substr(0, slash)) || !valid_name_part(id.substr(slash + 1))) {
    return std::nullopt;
  }
  ref.repo_id = std::string(id);
  return ref;
}

bool is_commit_hash(std::string_view revision) {
  return revision.size() == 40 && std::all_of(revision.begin(), revision.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

fs::path repo_cache_dir(const fs::path& cache_dir, const std::string& repo_id) {
  std::string folder = "models--" + repo_id;
  for (size_t pos = 0; (pos = folder.find('/', pos)) != std::string::npos;) {
    folder.replace(pos, 1, "--");
  }
  return cache_dir / folder;
}

std::optional<std::string> cached_commit(const fs::path& repo_dir, const std::string& revision) {
  if (is_commit_hash(revision)) return revision;
  std::ifstream in(repo_dir / "refs" / revision);
  if (!in) return std::nullopt;
  std::string commit;
  std::getline(in, commit);
  while (!commit.empty() && std::isspace(static_cast<unsigned char>(commit.back()))) commit.pop_back();
  if (!is_commit_hash(commit)) return std::nullopt;
  return commit;
}

bool snapshot_complete(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_regular_file(dir / "config.json", ec)) return false;
  const fs::path index = dir / "model.safetensors.index.json";
  if (fs::is_regular_file(index, ec)) {
    try {
      const auto j = read_json_file(index);
      const auto& map = j.at("weight_map");
      for (const auto& [tensor, shard] : map.items()) {
        if (!fs::is_regular_file(dir / shard.get<std::string>(), ec)) return false;
      }
      return !map.empty();
    } catch (const std::exception&) {
      return false;  // an unreadable index: let a fresh download repair it
    }
  }
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.path().extension() == ".safetensors" && fs::is_regular_file(entry.path(), ec)) {
      return true;
    }
  }
  return false;
}

std::optional<fs::path> find_cached_snapshot(const fs::path& cache_dir, const RepoRef& ref) {
  const fs::path repo_dir = repo_cache_dir(cache_dir, ref.repo_id);
  const auto commit = cached_commit(repo_dir, ref.revision);
  if (!commit) return std::nullopt;
  const fs::path snapshot = repo_dir / "snapshots" / *commit;
  if (!snapshot_complete(snapshot)) return std::nullopt;
  return snapshot;
}

}  // namespace tf
