// A local stand-in for the Hugging Face Hub, for download tests: serves one folder as a model
// repo on 127.0.0.1 (ephemeral port) with the Hub's URL scheme
//   GET  /api/models/{org}/{name}/revision/{rev}  → {"sha", "siblings": [{rfilename, blobId|lfs, size}]}
//   GET (and HEAD) /{org}/{name}/resolve/{rev}/{file}   → small files directly (ETag = blob id),
//        *.safetensors as a 302 to /cdn/{sha256} (X-Linked-Etag, X-Linked-Size), like LFS files
//   GET  /cdn/{sha256}                            → the bytes, with Range support
// and knobs to misbehave (drop a connection midway, require a token, hide blob ids...).
// Nothing here reaches beyond the loopback interface.
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

// Needs the compile definitions of pkg-config's cpp-httplib (PkgConfig::HTTPLIB): the library is
// built with them, and without them httplib::Server has another layout.
#include <httplib.h>
#include <nlohmann/json.hpp>

namespace tf::testing {

class FakeHub {
 public:
  struct File {
    std::string path;
    std::string content;
    std::string blob_id;  // 64 hex for *.safetensors (an "LFS sha256"), else 40 hex
    bool lfs = false;
  };

  FakeHub(const std::filesystem::path& folder, std::string repo_id, std::string commit)
      : repo_id_(std::move(repo_id)), commit_(std::move(commit)) {
    for (const auto& entry : std::filesystem::recursive_directory_iterator(folder)) {
      if (!entry.is_regular_file()) continue;
      File f;
      f.path = std::filesystem::relative(entry.path(), folder).generic_string();
      std::ifstream in(entry.path(), std::ios::binary);
      std::stringstream s;
      s << in.rdbuf();
      f.content = s.str();
      f.lfs = f.path.ends_with(".safetensors");
      f.blob_id = fake_hash(f.content, f.lfs ? 64 : 40);
      files_.push_back(std::move(f));
    }
    install_routes();
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // stop() before the accept loop runs would be lost (and the join would hang): wait for it.
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }

  ~FakeHub() { stop(); }

  void stop() {
    server_.stop();
    if (thread_.joinable()) thread_.join();
  }

  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  const std::string& commit() const { return commit_; }
  const std::vector<File>& files() const { return files_; }
  const File* file(const std::string& path) const {
    for (const auto& f : files_) {
      if (f.path == path) return &f;
    }
    return nullptr;
  }

  // Knobs (set before the client runs).
  std::string drop_once_path;     // this file's first transfer stops after half its bytes
  std::string required_token;     // non-empty: every request needs "Bearer <token>"
  bool blob_ids_in_listing = true;
  int64_t fake_listing_size = -1; // > 0: the listing claims this size for every LFS file

  // What the client did.
  std::atomic<int> requests{0};
  std::atomic<int64_t> bytes_served{0};
  std::vector<std::string> ranges_seen() {
    std::lock_guard<std::mutex> lock(mutex_);
    return ranges_;
  }
  std::vector<std::string> paths_seen() {
    std::lock_guard<std::mutex> lock(mutex_);
    return paths_;
  }

 private:
  static std::string fake_hash(const std::string& data, size_t digits) {
    std::string out;
    uint64_t h = 1469598103934665603ull;
    while (out.size() < digits) {
      for (unsigned char c : data) {
        h ^= c;
        h *= 1099511628211ull;
      }
      h ^= out.size();
      char buf[17];
      std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
      out += buf;
    }
    return out.substr(0, digits);
  }

  bool authorised(const httplib::Request& req, httplib::Response& res) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      paths_.push_back(req.method + " " + req.path);
      if (req.has_header("Range")) ranges_.push_back(req.get_header_value("Range"));
    }
    ++requests;
    if (required_token.empty() || req.get_header_value("Authorization") == "Bearer " + required_token) {
      return true;
    }
    res.status = 401;
    res.set_header("X-Error-Code", "RepoNotFound");
    res.set_content("{\"error\":\"Repository not found\"}", "application/json");
    return false;
  }

  bool known_repo(const httplib::Request& req, httplib::Response& res) {
    if (req.matches[1].str() + "/" + req.matches[2].str() == repo_id_) return true;
    res.status = 401;  // the Hub answers 401 for unknown repos when anonymous
    res.set_header("X-Error-Code", "RepoNotFound");
    res.set_content("{\"error\":\"Repository not found\"}", "application/json");
    return false;
  }

  bool known_revision(const std::string& rev, httplib::Response& res) {
    if (rev == "main" || rev == commit_) return true;
    res.status = 404;
    res.set_header("X-Error-Code", "RevisionNotFound");
    res.set_content("{\"error\":\"Invalid rev id\"}", "application/json");
    return false;
  }

  void install_routes() {
    server_.Get(R"(/api/models/([^/]+)/([^/]+)/revision/([^/]+))",
                [this](const httplib::Request& req, httplib::Response& res) {
                  if (!authorised(req, res) || !known_repo(req, res)) return;
                  if (!known_revision(req.matches[3].str(), res)) return;
                  nlohmann::json siblings = nlohmann::json::array();
                  for (const auto& f : files_) {
                    nlohmann::json s = {{"rfilename", f.path}};
                    if (blob_ids_in_listing) {
                      const int64_t size = f.lfs && fake_listing_size > 0
                                               ? fake_listing_size
                                               : static_cast<int64_t>(f.content.size());
                      s["size"] = size;
                      if (f.lfs) {
                        s["blobId"] = fake_hash(f.blob_id, 40);  // the pointer file's git id
                        s["lfs"] = {{"sha256", f.blob_id}, {"size", size}, {"pointerSize", 134}};
                      } else {
                        s["blobId"] = f.blob_id;
                      }
                    }
                    siblings.push_back(s);
                  }
                  nlohmann::json body = {{"id", repo_id_}, {"sha", commit_}, {"siblings", siblings}};
                  res.set_content(body.dump(), "application/json");
                });

    auto resolve = [this](const httplib::Request& req, httplib::Response& res) {
      if (!authorised(req, res) || !known_repo(req, res)) return;
      if (!known_revision(req.matches[3].str(), res)) return;
      const File* f = file(req.matches[4].str());
      if (!f) {
        res.status = 404;
        res.set_header("X-Error-Code", "EntryNotFound");
        return;
      }
      res.set_header("X-Repo-Commit", commit_);
      if (f->lfs) {
        res.set_header("X-Linked-Etag", "\"" + f->blob_id + "\"");
        res.set_header("X-Linked-Size", std::to_string(f->content.size()));
        res.set_redirect("/cdn/" + f->blob_id, 302);
        return;
      }
      res.set_header("ETag", "\"" + f->blob_id + "\"");
      if (req.method != "HEAD") bytes_served += static_cast<int64_t>(f->content.size());
      res.set_content(f->content, "application/octet-stream");
    };
    server_.Get(R"(/([^/]+)/([^/]+)/resolve/([^/]+)/(.+))", resolve);  // HEAD is routed here too

    server_.Get(R"(/cdn/([0-9a-f]+))", [this](const httplib::Request& req, httplib::Response& res) {
      if (!authorised(req, res)) return;
      const File* f = nullptr;
      for (const auto& candidate : files_) {
        if (candidate.blob_id == req.matches[1].str()) f = &candidate;
      }
      if (!f) {
        res.status = 404;
        return;
      }
      const bool drop = f->path == drop_once_path && !dropped_.exchange(true);
      const std::string* content = &f->content;
      res.set_content_provider(
          content->size(), "application/octet-stream",
          [this, content, drop](size_t offset, size_t length, httplib::DataSink& sink) {
            // Sends at most 64 KiB per call; a dropping transfer gives up after half the file.
            const size_t stop_at = drop ? content->size() / 2 : content->size();
            if (offset >= stop_at) return false;  // closes the connection mid-body
            const size_t n = std::min({length, size_t{65536}, stop_at - offset});
            bytes_served += static_cast<int64_t>(n);
            return sink.write(content->data() + offset, n);
          });
    });
  }

  std::string repo_id_;
  std::string commit_;
  std::vector<File> files_;
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::atomic<bool> dropped_{false};
  std::mutex mutex_;
  std::vector<std::string> ranges_;
  std::vector<std::string> paths_;
};

}  // namespace tf::testing
