// Model resolution and Hub downloads against a local fake Hub (tests/runtime/fake_hub.h).
// Every endpoint is 127.0.0.1: no test touches the internet.
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include <gtest/gtest.h>

#include "runtime/fake_hub.h"
#include "runtime/hub_cache.h"
#include "runtime/hub_download.h"
#include "runtime/model_resolver.h"

namespace tf {
namespace {

namespace fs = std::filesystem;

const fs::path kFixture = fs::path(TIGHTFIT_TEST_DATA) / "tiny-qwen35moe-a";
const std::string kRepo = "tiny/qwen35moe-a";
const std::string kCommit = "0123456789abcdef0123456789abcdef01234567";

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A fresh cache folder per test, removed afterwards.
class HubTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cache_ = fs::temp_directory_path() /
             ("tf_hub_test_" + std::to_string(::getpid()) + "_" +
              ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(cache_);
    fs::create_directories(cache_);
    hub_ = std::make_unique<testing::FakeHub>(kFixture, kRepo, kCommit);
    settings_.cache_dir = cache_;
    settings_.endpoint = hub_->endpoint();
    options_.progress = &log_;
    options_.retry_delay_ms = 1;
    options_.max_attempts = 3;
  }
  void TearDown() override {
    hub_.reset();
    fs::remove_all(cache_);
  }

  std::string error_of(const std::string& spec) {
    try {
      resolve_model(spec, settings_, options_);
    } catch (const std::exception& e) {
      return e.what();
    }
    return "no error";
  }

  fs::path cache_;
  std::unique_ptr<testing::FakeHub> hub_;
  HubSettings settings_;
  DownloadOptions options_;
  std::ostringstream log_;
};

TEST(HubCache, RepoIdsAndCacheNames) {
  auto r = parse_repo_ref("Qwen/Qwen3.5-35B-A3B");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->repo_id, "Qwen/Qwen3.5-35B-A3B");
  EXPECT_EQ(r->revision, "main");
  r = parse_repo_ref("mlx-community/some_model@v1.0");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->revision, "v1.0");
  r = parse_repo_ref("org/name@refs/pr/3");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->revision, "refs/pr/3");
  for (const char* bad : {"name", "a/b/c", "/abs/path", "org/", "/name", "org/na me", "org/..",
                          "org/.hidden", "org/a--b", "org/name@", "org/name@../../x", "org/x@a b"}) {
    EXPECT_FALSE(parse_repo_ref(bad)) << bad;
  }
  EXPECT_EQ(repo_cache_dir("/c", "Qwen/Qwen3.5-35B-A3B"), fs::path("/c/models--Qwen--Qwen3.5-35B-A3B"));
  EXPECT_TRUE(is_commit_hash(kCommit));
  EXPECT_FALSE(is_commit_hash("main"));
  EXPECT_FALSE(is_commit_hash("0123456789ABCDEF0123456789abcdef01234567"));
}

TEST(HubCache, SettingsComeFromTheEnvironmentInHuggingFaceOrder) {
  const char* names[] = {"HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_HOME", "XDG_CACHE_HOME",
                         "HOME", "HF_ENDPOINT", "HF_TOKEN", "HF_HUB_OFFLINE"};
  std::map<std::string, std::optional<std::string>> saved;
  for (const char* n : names) {
    const char* v = std::getenv(n);
    saved[n] = v ? std::optional<std::string>(v) : std::nullopt;
    ::unsetenv(n);
  }
  ::setenv("HOME", "/home/u", 1);
  auto s = hub_settings_from_env();
  EXPECT_EQ(s.cache_dir, fs::path("/home/u/.cache/huggingface/hub"));
  EXPECT_EQ(s.endpoint, "https://huggingface.co");
  EXPECT_FALSE(s.offline);
  EXPECT_TRUE(s.token.empty());
  ::setenv("XDG_CACHE_HOME", "/xdg", 1);
  EXPECT_EQ(hub_settings_from_env().cache_dir, fs::path("/xdg/huggingface/hub"));
  ::setenv("HF_HOME", "/hf", 1);
  EXPECT_EQ(hub_settings_from_env().cache_dir, fs::path("/hf/hub"));
  ::setenv("HF_HUB_CACHE", "/explicit", 1);
  ::setenv("HF_ENDPOINT", "http://127.0.0.1:9/", 1);
  ::setenv("HF_TOKEN", "hf_x", 1);
  ::setenv("HF_HUB_OFFLINE", "1", 1);
  s = hub_settings_from_env();
  EXPECT_EQ(s.cache_dir, fs::path("/explicit"));
  EXPECT_EQ(s.endpoint, "http://127.0.0.1:9");
  EXPECT_EQ(s.token, "hf_x");
  EXPECT_TRUE(s.offline);
  ::setenv("HF_HUB_OFFLINE", "0", 1);
  EXPECT_FALSE(hub_settings_from_env().offline);
  for (const char* n : names) {
    if (saved[n]) {
      ::setenv(n, saved[n]->c_str(), 1);
    } else {
      ::unsetenv(n);
    }
  }
}

TEST(HubDownload, PatternsKeepModelFilesAtTheTopLevelOnly) {
  const auto p = default_model_patterns();
  for (const char* yes : {"config.json", "model.safetensors", "model-00001-of-00014.safetensors",
                          "model.safetensors.index.json", "tokenizer.json", "tokenizer_config.json",
                          "chat_template.jinja", "generation_config.json", "merges.txt",
                          "preprocessor_config.json"}) {
    EXPECT_TRUE(matches_any(yes, p)) << yes;
  }
  for (const char* no : {"README.md", "logits.npy", "original/model.safetensors", ".gitattributes",
                         "onnx/config.json", "pytorch_model.bin"}) {
    EXPECT_FALSE(matches_any(no, p)) << no;
  }
}

TEST(HubDownload, TerminalOptionsReportOnStderr) {
  const auto o = terminal_download_options();
  EXPECT_EQ(o.progress, &std::cerr);
  EXPECT_GT(o.max_attempts, 1);
  EXPECT_EQ(o.allow_patterns, default_model_patterns());
}

TEST_F(HubTest, LocalFolderIsUsedAsIsWithoutNetwork) {
  auto m = resolve_model(kFixture.string(), settings_, options_);
  EXPECT_EQ(m.dir, kFixture);
  EXPECT_TRUE(m.repo_id.empty());
  EXPECT_FALSE(m.downloaded);
  EXPECT_EQ(hub_->requests, 0);
  EXPECT_NE(error_of("./no/such/folder").find("no such folder"), std::string::npos);
  EXPECT_NE(error_of("a/b/c").find("not a Hugging Face repo id"), std::string::npos);
  EXPECT_NE(error_of((kFixture / "config.json").string()).find("is a file"), std::string::npos);
  EXPECT_THROW(resolve_model("not-a-repo", settings_, options_), ModelNotFoundError);
  EXPECT_EQ(hub_->requests, 0);
}

TEST_F(HubTest, DownloadsIntoTheHuggingFaceCacheLayout) {
  auto m = resolve_model(kRepo, settings_, options_);
  EXPECT_TRUE(m.downloaded);
  EXPECT_EQ(m.repo_id, kRepo);
  EXPECT_EQ(m.commit, kCommit);
  const fs::path repo_dir = cache_ / "models--tiny--qwen35moe-a";
  EXPECT_EQ(m.dir, repo_dir / "snapshots" / kCommit);
  EXPECT_EQ(read_file(repo_dir / "refs" / "main"), kCommit);

  // Wanted files are there, byte for byte, as relative symlinks into blobs/.
  for (const char* name : {"config.json", "model.safetensors", "tokens.json"}) {
    const auto* f = hub_->file(name);
    ASSERT_NE(f, nullptr) << name;
    const fs::path link = m.dir / name;
    ASSERT_TRUE(fs::is_symlink(link)) << name;
    EXPECT_EQ(fs::read_symlink(link), fs::path("../../blobs") / f->blob_id);
    EXPECT_EQ(read_file(link), f->content) << name;
  }
  // Not wanted: reference logits.
  EXPECT_FALSE(fs::exists(m.dir / "logits_seq16.npy"));
  // The big file came through the CDN redirect, named by its LFS sha256.
  EXPECT_EQ(hub_->file("model.safetensors")->blob_id.size(), 64u);
  EXPECT_TRUE(fs::is_regular_file(repo_dir / "blobs" / hub_->file("model.safetensors")->blob_id));
  for (const auto& e : fs::directory_iterator(repo_dir / "blobs")) {
    EXPECT_NE(e.path().extension(), ".incomplete") << e.path();
  }
  // Plain progress lines when not on a terminal.
  EXPECT_NE(log_.str().find("downloading model.safetensors"), std::string::npos) << log_.str();
  EXPECT_EQ(log_.str().find('\r'), std::string::npos);
}

TEST_F(HubTest, CachedModelResolvesWithoutTheNetwork) {
  const auto first = resolve_model(kRepo, settings_, options_);
  hub_->stop();
  const int before = hub_->requests;
  auto again = resolve_model(kRepo, settings_, options_);
  EXPECT_EQ(again.dir, first.dir);
  EXPECT_FALSE(again.downloaded);
  settings_.offline = true;
  again = resolve_model(kRepo + "@main", settings_, options_);
  EXPECT_EQ(again.dir, first.dir);
  again = resolve_model(kRepo + "@" + kCommit, settings_, options_);
  EXPECT_EQ(again.dir, first.dir);
  EXPECT_EQ(hub_->requests, before);
}

TEST_F(HubTest, OfflineAndNotCachedIsAClearErrorWithoutNetwork) {
  settings_.offline = true;
  const std::string e = error_of(kRepo);
  EXPECT_NE(e.find("HF_HUB_OFFLINE"), std::string::npos) << e;
  EXPECT_THROW(resolve_model(kRepo, settings_, options_), ModelNotFoundError);
  EXPECT_EQ(hub_->requests, 0);
}

TEST_F(HubTest, IncompleteSnapshotIsCompletedByDownloading) {
  // A snapshot with config.json but no weights (an interrupted earlier run).
  const fs::path snap = cache_ / "models--tiny--qwen35moe-a" / "snapshots" / kCommit;
  fs::create_directories(snap);
  fs::copy_file(kFixture / "config.json", snap / "config.json");
  fs::create_directories(snap.parent_path().parent_path() / "refs");
  std::ofstream(snap.parent_path().parent_path() / "refs" / "main") << kCommit;
  EXPECT_FALSE(snapshot_complete(snap));
  auto m = resolve_model(kRepo, settings_, options_);
  EXPECT_TRUE(m.downloaded);
  EXPECT_TRUE(snapshot_complete(m.dir));
  // config.json was already there: not fetched again.
  for (const auto& p : hub_->paths_seen()) EXPECT_EQ(p.find("config.json"), std::string::npos) << p;
}

TEST_F(HubTest, DroppedConnectionIsResumedWithARangeRequest) {
  hub_->drop_once_path = "model.safetensors";
  auto m = resolve_model(kRepo, settings_, options_);
  const auto& weights = hub_->file("model.safetensors")->content;
  EXPECT_EQ(read_file(m.dir / "model.safetensors"), weights);
  // One resumed request (seen at /resolve and again at the /cdn redirect target).
  const auto ranges = hub_->ranges_seen();
  ASSERT_FALSE(ranges.empty());
  for (const auto& r : ranges) EXPECT_EQ(r, "bytes=" + std::to_string(weights.size() / 2) + "-");
  EXPECT_NE(log_.str().find("retrying"), std::string::npos) << log_.str();
}

TEST_F(HubTest, PartialFileFromAnEarlierRunIsResumed) {
  const auto* f = hub_->file("model.safetensors");
  const fs::path blobs = cache_ / "models--tiny--qwen35moe-a" / "blobs";
  fs::create_directories(blobs);
  const size_t have = 300000;
  std::ofstream(blobs / (f->blob_id + ".incomplete"), std::ios::binary) << f->content.substr(0, have);
  auto m = resolve_model(kRepo, settings_, options_);
  EXPECT_EQ(read_file(m.dir / "model.safetensors"), f->content);
  const auto ranges = hub_->ranges_seen();
  ASSERT_FALSE(ranges.empty());
  for (const auto& r : ranges) EXPECT_EQ(r, "bytes=" + std::to_string(have) + "-");
  EXPECT_LT(hub_->bytes_served, static_cast<int64_t>(f->content.size()));
  EXPECT_NE(log_.str().find("resuming"), std::string::npos) << log_.str();
}

TEST_F(HubTest, BlobIdsFromHeadRequestsWhenTheListingHasNone) {
  hub_->blob_ids_in_listing = false;
  auto m = resolve_model(kRepo, settings_, options_);
  const auto* weights = hub_->file("model.safetensors");
  EXPECT_EQ(fs::read_symlink(m.dir / "model.safetensors"), fs::path("../../blobs") / weights->blob_id);
  EXPECT_EQ(read_file(m.dir / "config.json"), hub_->file("config.json")->content);
  bool saw_head = false;
  for (const auto& p : hub_->paths_seen()) saw_head |= p.rfind("HEAD ", 0) == 0;
  EXPECT_TRUE(saw_head);
}

TEST_F(HubTest, UnknownRepoOrRevisionIsModelNotFound) {
  std::string e = error_of("tiny/does-not-exist");
  EXPECT_NE(e.find("repo not found or gated: tiny/does-not-exist"), std::string::npos) << e;
  EXPECT_NE(e.find("HF_TOKEN"), std::string::npos) << e;
  EXPECT_THROW(resolve_model("tiny/does-not-exist", settings_, options_), ModelNotFoundError);
  e = error_of(kRepo + "@v9");
  EXPECT_NE(e.find("revision 'v9' not found"), std::string::npos) << e;
  EXPECT_FALSE(fs::exists(cache_ / "models--tiny--does-not-exist" / "refs"));
}

TEST_F(HubTest, TokenIsSentAsBearerAuth) {
  hub_->required_token = "hf_secret";
  EXPECT_THROW(resolve_model(kRepo, settings_, options_), ModelNotFoundError);
  settings_.token = "hf_wrong";
  EXPECT_NE(error_of(kRepo).find("your HF_TOKEN has access"), std::string::npos);
  settings_.token = "hf_secret";
  auto m = resolve_model(kRepo, settings_, options_);
  EXPECT_TRUE(snapshot_complete(m.dir));
}

TEST_F(HubTest, NetworkDownIsARuntimeErrorNamingTheEndpoint) {
  hub_->stop();  // nothing listens on that port any more
  options_.stall_timeout_s = 2;
  try {
    resolve_model(kRepo, settings_, options_);
    ADD_FAILURE() << "no error";
  } catch (const ModelNotFoundError& e) {
    ADD_FAILURE() << "network failure reported as not found: " << e.what();
  } catch (const std::runtime_error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("cannot reach " + settings_.endpoint), std::string::npos) << m;
    EXPECT_NE(m.find("HF_HUB_OFFLINE"), std::string::npos) << m;
  }
}

TEST_F(HubTest, NotEnoughDiskSpaceIsReportedBeforeDownloading) {
  hub_->fake_listing_size = int64_t{1} << 60;  // an exabyte
  const std::string e = error_of(kRepo);
  EXPECT_NE(e.find("not enough disk space"), std::string::npos) << e;
  EXPECT_NE(e.find("HF_HUB_CACHE"), std::string::npos) << e;
  for (const auto& p : hub_->paths_seen()) EXPECT_EQ(p.find("/cdn/"), std::string::npos) << p;
}

TEST_F(HubTest, ListingWithoutConfigIsNotAModel) {
  auto listing = fetch_repo_listing(settings_, RepoRef{kRepo, "main"}, options_);
  EXPECT_EQ(listing.commit, kCommit);
  EXPECT_EQ(listing.files.size(), hub_->files().size());
  options_.allow_patterns = {"*.safetensors"};
  const std::string e = error_of(kRepo);
  EXPECT_NE(e.find("has no config.json"), std::string::npos) << e;
}

}  // namespace
}  // namespace tf
