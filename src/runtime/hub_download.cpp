#include "runtime/hub_download.h"

#include <fcntl.h>
#include <fnmatch.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "base/json_read.h"
#include "runtime/download_progress.h"
#include "runtime/http_client.h"
#include "runtime/peak_memory.h"

namespace tf {

namespace fs = std::filesystem;

namespace {

// Percent-encoding of a URL path segment; keep_slash for multi-segment repo paths.
std::string url_encode(const std::string& s, bool keep_slash) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/')) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::vector<std::string> auth_headers(const HubSettings& settings) {
  std::vector<std::string> h;
  if (!settings.token.empty()) h.push_back("Authorization: Bearer " + settings.token);
  return h;
}

// A path from the listing that is safe to create under the snapshot folder.
bool safe_repo_path(const std::string& path) {
  if (path.empty() || path.front() == '/' || path.find('\\') != std::string::npos) return false;
  for (const auto& part : fs::path(path)) {
    if (part == ".." || part == ".") return false;
  }
  return true;
}

bool safe_blob_id(const std::string& id) {
  return !id.empty() && id.size() <= 128 &&
         std::all_of(id.begin(), id.end(), [](unsigned char c) { return std::isalnum(c); });
}

// ETag values come quoted, sometimes weak ("W/\"...\"").
std::string clean_etag(std::string etag) {
  if (etag.rfind("W/", 0) == 0) etag.erase(0, 2);
  etag.erase(std::remove(etag.begin(), etag.end(), '"'), etag.end());
  return etag;
}

// A stable name for a blob the server gave no id for (FNV-1a of commit and path).
std::string synthetic_blob_id(const std::string& commit, const std::string& path) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : commit + "/" + path) {
    h ^= c;
    h *= 1099511628211ull;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "tf%016llx", static_cast<unsigned long long>(h));
  return buf;
}

// The error for an HTTP answer that is not a success, with what the user can do about it.
[[noreturn]] void throw_http_error(const HttpResponse& r, const HubSettings& settings,
                                   const RepoRef& ref, const std::string& file) {
  const std::string code = r.header("x-error-code");
  const std::string repo = ref.repo_id;
  const std::string where = file.empty() ? repo : file + " in " + repo + "@" + ref.revision;
  if (code == "RevisionNotFound") {
    throw ModelNotFoundError("revision '" + ref.revision + "' not found in " + repo +
                             " (check the name after '@')");
  }
  if (code == "EntryNotFound" || (r.status == 404 && !file.empty() && code.empty())) {
    throw ModelNotFoundError("file not found: " + where);
  }
  if (code == "GatedRepo" || r.status == 403) {
    throw ModelNotFoundError("access to " + repo + " is restricted (gated repo, HTTP " +
                             std::to_string(r.status) + "): accept its conditions on " +
                             settings.endpoint + "/" + repo +
                             " and set HF_TOKEN to a token of that account");
  }
  if (code == "RepoNotFound" || r.status == 404 || r.status == 401) {
    std::string hint = settings.token.empty()
                           ? "check the name; private or gated repos need HF_TOKEN"
                           : "check the name, and that your HF_TOKEN has access to it";
    throw ModelNotFoundError("repo not found or gated: " + repo + " (HTTP " +
                             std::to_string(r.status) + "; " + hint + ")");
  }
  throw std::runtime_error(settings.endpoint + " answered HTTP " + std::to_string(r.status) +
                           " for " + where + (r.body.empty() ? "" : ": " + r.body.substr(0, 200)));
}

std::string network_hint(const HubSettings& settings) {
  return "; check your network connection, or set HF_HUB_OFFLINE=1 to use only models already in " +
         settings.cache_dir.string();
}

void sleep_ms(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

// Runs `attempt` until it returns without a retryable failure. Returns its response.
template <typename F>
HttpResponse with_retries(const DownloadOptions& options, DownloadProgress& progress,
                          const HubSettings& settings, const std::string& what, F attempt) {
  int delay = options.retry_delay_ms;
  for (int i = 1;; ++i) {
    try {
      HttpResponse r = attempt();
      const bool server_busy = r.status == 429 || r.status >= 500;
      if (!server_busy || i >= options.max_attempts) return r;
      progress.note(what + ": server answered HTTP " + std::to_string(r.status) + ", retrying (" +
                    std::to_string(i + 1) + "/" + std::to_string(options.max_attempts) + ")");
    } catch (const NetworkError& e) {
      if (!e.retryable || i >= options.max_attempts) {
        throw std::runtime_error("cannot reach " + settings.endpoint + " (" + what + "): " +
                                 e.what() + network_hint(settings));
      }
      progress.note(what + ": " + e.what() + ", retrying (" + std::to_string(i + 1) + "/" +
                    std::to_string(options.max_attempts) + ")");
    }
    sleep_ms(delay);
    delay *= 2;
  }
}

struct FileDescriptor {
  int fd = -1;
  ~FileDescriptor() {
    if (fd >= 0) ::close(fd);
  }
};

int64_t file_size(int fd) {
  struct stat st {};
  return fstat(fd, &st) == 0 ? static_cast<int64_t>(st.st_size) : 0;
}

// Fetches one file into blobs/<id> (resuming blobs/<id>.incomplete).
void download_blob(const HubSettings& settings, const RepoRef& ref, const std::string& commit,
                   const RepoFile& file, const fs::path& blob, const DownloadOptions& options,
                   DownloadProgress& progress) {
  const fs::path partial = blob.string() + ".incomplete";
  FileDescriptor f;
  f.fd = ::open(partial.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (f.fd < 0) {
    throw std::runtime_error("cannot create " + partial.string() + ": " + std::strerror(errno));
  }
  if (flock(f.fd, LOCK_EX | LOCK_NB) != 0) {
    throw std::runtime_error("another process is downloading " + file.path + " into " +
                             partial.string() + "; wait for it to finish");
  }
  HttpRequest request;
  request.url = settings.endpoint + "/" + ref.repo_id + "/resolve/" + url_encode(commit, false) +
                "/" + url_encode(file.path, true);
  request.headers = auth_headers(settings);
  request.stall_timeout_s = options.stall_timeout_s;

  int64_t have = file_size(f.fd);
  if (file.size >= 0 && have > file.size) {
    if (ftruncate(f.fd, 0) != 0) throw std::runtime_error("cannot truncate " + partial.string());
    have = 0;
  }
  progress.start_file(file.path, file.size, have);
  bool complete = file.size >= 0 && have == file.size;
  while (!complete) {
    const int64_t start = file_size(f.fd);
    // Each attempt resumes from what is on disk, so a dropped connection costs only a retry.
    const HttpResponse r = with_retries(options, progress, settings, file.path, [&] {
      const int64_t from = file_size(f.fd);
      auto transfer = http_download(request, f.fd, from, partial.string(),
                                    [&](int64_t received, int64_t) {
                                      progress.update(from + received);
                                      return true;
                                    });
      return transfer.response;
    });
    const int64_t now = file_size(f.fd);
    progress.update(now);
    if (r.status == 416) {
      // Nothing left to send: complete if the size agrees, otherwise start over once.
      if (file.size < 0 || now == file.size) break;
      if (ftruncate(f.fd, 0) != 0) throw std::runtime_error("cannot truncate " + partial.string());
      if (start == 0) throw std::runtime_error("server refused the download of " + file.path);
      continue;
    }
    if (r.status != 200 && r.status != 206) throw_http_error(r, settings, ref, file.path);
    if (file.size < 0 || now == file.size) {
      complete = true;
    } else if (now <= start) {
      throw std::runtime_error("download of " + file.path + " made no progress (" +
                               std::to_string(now) + " of " + std::to_string(file.size) +
                               " bytes); run again to resume");
    }
    // A short body without a transport error: ask for the rest.
  }
  if (fsync(f.fd) != 0 && errno == ENOSPC) {
    throw std::runtime_error("disk full while writing " + partial.string());
  }
  std::error_code ec;
  fs::rename(partial, blob, ec);
  if (ec) throw std::runtime_error("cannot move " + partial.string() + " into place: " + ec.message());
  progress.finish_file();
}

// snapshots/<commit>/<path> → ../../blobs/<id> (one more "../" per folder level in path).
void link_into_snapshot(const fs::path& snapshot, const std::string& path, const fs::path& blob) {
  const fs::path link = snapshot / path;
  std::error_code ec;
  fs::create_directories(link.parent_path(), ec);
  if (ec) throw std::runtime_error("cannot create " + link.parent_path().string() + ": " + ec.message());
  fs::remove(link, ec);  // a stale or broken link
  std::string target;
  const size_t depth = static_cast<size_t>(std::count(path.begin(), path.end(), '/'));
  for (size_t i = 0; i < depth + 2; ++i) target += "../";
  target += "blobs/" + blob.filename().string();
  fs::create_symlink(target, link, ec);
  if (ec) {
    // File systems without symlinks: a copy works the same for readers.
    fs::copy_file(blob, link, fs::copy_options::overwrite_existing, ec);
    if (ec) throw std::runtime_error("cannot place " + link.string() + ": " + ec.message());
  }
}

void write_ref(const fs::path& repo_dir, const std::string& revision, const std::string& commit) {
  const fs::path ref = repo_dir / "refs" / revision;
  std::error_code ec;
  fs::create_directories(ref.parent_path(), ec);
  const fs::path tmp = ref.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << commit;
    if (!out) throw std::runtime_error("cannot write " + tmp.string());
  }
  fs::rename(tmp, ref, ec);
  if (ec) throw std::runtime_error("cannot write " + ref.string() + ": " + ec.message());
}

}  // namespace

std::vector<std::string> default_model_patterns() {
  return {"*.json", "*.safetensors", "*.jinja", "merges.txt", "vocab.txt", "tokenizer.model",
          "*.tiktoken"};
}

bool matches_any(const std::string& path, const std::vector<std::string>& patterns) {
  for (const auto& p : patterns) {
    if (fnmatch(p.c_str(), path.c_str(), FNM_PATHNAME) == 0) return true;
  }
  return false;
}

RepoListing fetch_repo_listing(const HubSettings& settings, const RepoRef& ref,
                               const DownloadOptions& options) {
  HttpRequest request;
  request.url = settings.endpoint + "/api/models/" + ref.repo_id + "/revision/" +
                url_encode(ref.revision, false) + "?blobs=true";
  request.headers = auth_headers(settings);
  request.headers.push_back("Accept: application/json");
  request.stall_timeout_s = options.stall_timeout_s;
  DownloadProgress quiet(options.progress, options.progress_tty);
  const HttpResponse r = with_retries(options, quiet, settings, ref.repo_id,
                                      [&] { return http_fetch(request); });
  if (r.status != 200) throw_http_error(r, settings, ref, "");

  const std::string source = request.url;
  RepoListing listing;
  try {
    const auto j = parse_json(r.body, source);
    listing.commit = j.at("sha").get<std::string>();
    for (const auto& s : j.at("siblings")) {
      RepoFile f;
      f.path = s.at("rfilename").get<std::string>();
      if (auto lfs = s.find("lfs"); lfs != s.end() && lfs->is_object()) {
        if (auto sha = lfs->find("sha256"); sha != lfs->end()) f.blob_id = sha->get<std::string>();
        if (auto size = lfs->find("size"); size != lfs->end()) f.size = size->get<int64_t>();
      }
      if (f.blob_id.empty()) {
        if (auto id = s.find("blobId"); id != s.end() && id->is_string()) f.blob_id = id->get<std::string>();
      }
      if (f.size < 0) {
        if (auto size = s.find("size"); size != s.end() && size->is_number_integer()) {
          f.size = size->get<int64_t>();
        }
      }
      listing.files.push_back(std::move(f));
    }
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error("unexpected answer from " + source + ": " + e.what());
  }
  if (!is_commit_hash(listing.commit)) {
    throw std::runtime_error("unexpected answer from " + source + ": \"sha\" is not a commit hash");
  }
  return listing;
}

fs::path download_snapshot(const HubSettings& settings, const RepoRef& ref,
                           const DownloadOptions& options) {
  if (settings.offline) {
    throw ModelNotFoundError(ref.repo_id + " is not in the local cache (" +
                             settings.cache_dir.string() +
                             ") and HF_HUB_OFFLINE is set: unset it to download, or pass a folder");
  }
  const RepoListing listing = fetch_repo_listing(settings, ref, options);

  std::vector<RepoFile> wanted;
  for (const auto& f : listing.files) {
    if (safe_repo_path(f.path) && matches_any(f.path, options.allow_patterns)) wanted.push_back(f);
  }
  if (std::none_of(wanted.begin(), wanted.end(), [](const RepoFile& f) { return f.path == "config.json"; })) {
    throw ModelNotFoundError(ref.repo_id + "@" + ref.revision +
                             " has no config.json: not a model repository tightfit can load");
  }
  // Weights last: a snapshot with its weights in place is then complete (snapshot_complete).
  std::stable_sort(wanted.begin(), wanted.end(), [](const RepoFile& a, const RepoFile& b) {
    const bool wa = a.path.ends_with(".safetensors"), wb = b.path.ends_with(".safetensors");
    return wa != wb ? wb : a.path < b.path;
  });

  const fs::path repo_dir = repo_cache_dir(settings.cache_dir, ref.repo_id);
  const fs::path blobs = repo_dir / "blobs";
  const fs::path snapshot = repo_dir / "snapshots" / listing.commit;
  std::error_code ec;
  fs::create_directories(blobs, ec);
  if (ec) throw std::runtime_error("cannot create the cache folder " + blobs.string() + ": " + ec.message());
  fs::create_directories(snapshot, ec);

  DownloadProgress progress(options.progress, options.progress_tty);
  HttpRequest head;
  head.headers = auth_headers(settings);
  head.follow_redirects = false;  // the Hub's own answer carries the ids, not the CDN's
  head.head_only = true;

  // What is missing, with blob ids (from the listing, else a HEAD request) and the bytes to go.
  struct Job {
    RepoFile file;
    fs::path blob;
  };
  std::vector<Job> jobs;
  int64_t bytes_needed = 0;
  for (RepoFile f : wanted) {
    if (fs::is_regular_file(snapshot / f.path, ec)) continue;
    if (!safe_blob_id(f.blob_id)) {
      head.url = settings.endpoint + "/" + ref.repo_id + "/resolve/" + listing.commit + "/" +
                 url_encode(f.path, true);
      const HttpResponse r = with_retries(options, progress, settings, f.path,
                                          [&] { return http_fetch(head); });
      if (r.status >= 400) throw_http_error(r, settings, ref, f.path);
      std::string etag = clean_etag(r.header("x-linked-etag"));
      if (etag.empty()) etag = clean_etag(r.header("etag"));
      f.blob_id = safe_blob_id(etag) ? etag : synthetic_blob_id(listing.commit, f.path);
      if (f.size < 0) {
        const std::string size = r.header("x-linked-size");
        if (!size.empty()) f.size = std::stoll(size);
      }
    }
    const fs::path blob = blobs / f.blob_id;
    if (!fs::is_regular_file(blob, ec) && f.size > 0) {
      const fs::path partial = blob.string() + ".incomplete";
      const int64_t have = fs::is_regular_file(partial, ec) ? static_cast<int64_t>(fs::file_size(partial, ec)) : 0;
      bytes_needed += std::max<int64_t>(0, f.size - have);
    }
    jobs.push_back({f, blob});
  }
  if (bytes_needed > 0) {
    const auto space = fs::space(blobs, ec);
    if (!ec && static_cast<int64_t>(space.available) < bytes_needed) {
      throw std::runtime_error("not enough disk space in " + blobs.string() + ": " +
                               ref.repo_id + " needs " + format_bytes(static_cast<uint64_t>(bytes_needed)) +
                               " more, " + format_bytes(space.available) +
                               " free (set HF_HUB_CACHE to a bigger disk)");
    }
  }

  for (const Job& job : jobs) {
    if (!fs::is_regular_file(job.blob, ec) ||
        (job.file.size >= 0 && static_cast<int64_t>(fs::file_size(job.blob, ec)) != job.file.size)) {
      download_blob(settings, ref, listing.commit, job.file, job.blob, options, progress);
    }
    link_into_snapshot(snapshot, job.file.path, job.blob);
  }
  if (!is_commit_hash(ref.revision)) write_ref(repo_dir, ref.revision, listing.commit);
  if (!snapshot_complete(snapshot)) {
    throw ModelNotFoundError(ref.repo_id + "@" + ref.revision +
                             " has no complete set of safetensors weights next to config.json");
  }
  return snapshot;
}

}  // namespace tf
