// Sharded writer round trips and Checkpoint folder resolution (index, single file, glob).
#include <cstring>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "storage/safetensors.h"
#include "storage/safetensors_writer.h"

namespace tf {
namespace {

namespace fs = std::filesystem;

// A fresh empty folder per test.
std::string fresh_dir(const std::string& name) {
  const fs::path p = fs::path(testing::TempDir()) / ("ckpt-" + name);
  fs::remove_all(p);
  fs::create_directories(p);
  return p.string();
}

std::vector<std::string> listing(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

// Deterministic bytes for tensor `t`: byte i = (i * 7 + seed) mod 251.
std::vector<uint8_t> pattern(const TensorSpec& t, int seed) {
  std::vector<uint8_t> b(t.nbytes());
  for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<uint8_t>((i * 7 + seed) % 251);
  return b;
}

std::vector<TensorSpec> sample_specs() {
  return {{"z.last", DType::BF16, {10, 3}},        // 60 bytes
          {"a.first", DType::F32, {5}},            // 20
          {"m.odd", DType::U8, {7}},               // 7: makes later tensors unaligned in the data
          {"big", DType::U32, {40}},               // 160: bigger than the shard limit
          {"empty", DType::F16, {0}},              // 0
          {"tail", DType::I64, {3}}};              // 24
}

// Writes the specs (each tensor in two pieces) and checks every byte through Checkpoint.
void write_and_verify(const std::string& dir, uint64_t max_shard, size_t expect_files) {
  const auto specs = sample_specs();
  std::vector<std::string> files;
  {
    ShardedSafetensorsWriter w(dir, specs, max_shard);
    for (size_t i = 0; i < specs.size(); ++i) {
      const auto bytes = pattern(specs[i], static_cast<int>(i));
      const size_t half = bytes.size() / 2;
      w.write(specs[i].name, bytes.data(), half);
      w.write(bytes.data() + half, bytes.size() - half);
    }
    files = w.finish();
  }
  ASSERT_EQ(files.size(), expect_files);
  auto ck = Checkpoint::open(dir);
  ASSERT_EQ(ck->names().size(), specs.size());
  EXPECT_EQ(ck->files().size(), expect_files);
  for (size_t i = 0; i < specs.size(); ++i) {
    const TensorView& v = ck->get(specs[i].name);
    EXPECT_EQ(v.dtype, specs[i].dtype);
    EXPECT_EQ(v.shape, specs[i].shape);
    const auto bytes = pattern(specs[i], static_cast<int>(i));
    ASSERT_EQ(v.nbytes, bytes.size());
    if (!bytes.empty()) EXPECT_EQ(std::memcmp(v.data, bytes.data(), bytes.size()), 0) << specs[i].name;
  }
  for (const auto& f : ck->files()) {
    EXPECT_EQ(f->metadata().at("format"), "mlx");
    // Our headers are padded so the data starts 8-byte aligned.
    EXPECT_EQ((f->file_size() - std::accumulate(f->tensors().begin(), f->tensors().end(), size_t{0},
                                               [](size_t s, const TensorView& t) { return s + t.nbytes; })) % 8,
              0u);
  }
}

TEST(Writer, SingleShardIsModelSafetensors) {
  const std::string dir = fresh_dir("single");
  write_and_verify(dir, 1 << 20, 1);
  EXPECT_EQ(listing(dir), (std::vector<std::string>{"model.safetensors"}));
}

TEST(Writer, MultiShardWithIndex) {
  const std::string dir = fresh_dir("multi");
  // Limit 100: [z.last 60, a.first 20, m.odd 7] = 87; big 160 alone; [empty, tail 24].
  write_and_verify(dir, 100, 3);
  EXPECT_EQ(listing(dir), (std::vector<std::string>{"model-00001-of-00003.safetensors",
                                                    "model-00002-of-00003.safetensors",
                                                    "model-00003-of-00003.safetensors",
                                                    "model.safetensors.index.json"}));
  std::ifstream in(dir + "/model.safetensors.index.json");
  const auto index = nlohmann::json::parse(in);
  EXPECT_EQ(index["metadata"]["total_size"], 60 + 20 + 7 + 160 + 0 + 24);
  std::vector<std::string> keys;
  for (auto it = index["weight_map"].begin(); it != index["weight_map"].end(); ++it) keys.push_back(it.key());
  EXPECT_TRUE(std::is_sorted(keys.begin(), keys.end()));
  EXPECT_EQ(index["weight_map"]["big"], "model-00002-of-00003.safetensors");
  EXPECT_EQ(index["weight_map"]["tail"], "model-00003-of-00003.safetensors");
  EXPECT_EQ(index["weight_map"]["m.odd"], "model-00001-of-00003.safetensors");
}

TEST(Writer, AbandonedWriterLeavesNothing) {
  const std::string dir = fresh_dir("abandon");
  const auto specs = sample_specs();
  {
    ShardedSafetensorsWriter w(dir, specs, 100);
    const auto b0 = pattern(specs[0], 0);
    w.write(b0.data(), b0.size());
    const auto b1 = pattern(specs[1], 1);
    w.write(b1.data(), b1.size());
    const auto b2 = pattern(specs[2], 2);
    w.write(b2.data(), b2.size());
    const auto b3 = pattern(specs[3], 3);
    w.write(b3.data(), 10);  // second shard now open
    EXPECT_EQ(listing(dir).size(), 2u);
    for (const auto& f : listing(dir)) EXPECT_TRUE(f.find(".partial") != std::string::npos) << f;
  }
  EXPECT_TRUE(listing(dir).empty());
}

TEST(Writer, MisuseIsReported) {
  const std::string dir = fresh_dir("misuse");
  const std::vector<TensorSpec> specs = {{"a", DType::F32, {2}}, {"b", DType::U8, {3}}};
  ShardedSafetensorsWriter w(dir, specs, 1 << 20);
  const std::vector<uint8_t> nine(9, 1);
  EXPECT_THROW(w.write(nine.data(), 9), std::logic_error);  // spans a and b
  try {
    w.write("b", nine.data(), 3);
    FAIL();
  } catch (const std::logic_error& e) {
    EXPECT_NE(std::string(e.what()).find("next declared tensor is \"a\""), std::string::npos) << e.what();
  }
  w.write("a", nine.data(), 8);
  try {
    w.finish();
    FAIL();
  } catch (const std::logic_error& e) {
    EXPECT_NE(std::string(e.what()).find("\"b\" got 0 of its 3 bytes"), std::string::npos) << e.what();
  }
  EXPECT_THROW(ShardedSafetensorsWriter(dir, {{"x", DType::U8, {1}}, {"x", DType::U8, {1}}}, 10),
               std::invalid_argument);
  EXPECT_THROW(ShardedSafetensorsWriter(dir, {{"x", DType::U8, {-1}}}, 10), std::invalid_argument);
}

TEST(Writer, SingleFileRemovesStaleIndex) {
  const std::string dir = fresh_dir("stale");
  write_and_verify(dir, 100, 3);
  for (const auto& f : listing(dir)) fs::remove(fs::path(dir) / f);
  std::ofstream(dir + "/model.safetensors.index.json") << "{\"weight_map\": {}}";
  write_and_verify(dir, 1 << 20, 1);
  EXPECT_EQ(listing(dir), (std::vector<std::string>{"model.safetensors"}));
}

// Index problems: a shard that is missing, and a tensor listed in the wrong shard.
TEST(Checkpoint, IndexIsValidated) {
  const std::string dir = fresh_dir("index");
  write_and_verify(dir, 100, 3);
  const std::string index_path = dir + "/model.safetensors.index.json";
  nlohmann::json index;
  {
    std::ifstream in(index_path);
    index = nlohmann::json::parse(in);
  }
  auto expect_error = [&](const nlohmann::json& j, std::initializer_list<std::string> needles) {
    std::ofstream(index_path) << j.dump();
    try {
      Checkpoint::open(dir);
      FAIL() << "opened with index " << j.dump();
    } catch (const std::runtime_error& e) {
      for (const auto& n : needles) EXPECT_NE(std::string(e.what()).find(n), std::string::npos) << e.what();
    }
  };
  nlohmann::json wrong = index;
  wrong["weight_map"]["a.first"] = "model-00002-of-00003.safetensors";
  expect_error(wrong, {"\"a.first\"", "model-00002-of-00003.safetensors", "does not hold it",
                       "found in", "model-00001-of-00003.safetensors"});
  nlohmann::json missing = index;
  missing["weight_map"]["tail"] = "model-00004-of-00004.safetensors";
  expect_error(missing, {"model-00004-of-00004.safetensors", "does not exist"});
  nlohmann::json ghost = index;
  ghost["weight_map"]["ghost"] = "model-00001-of-00003.safetensors";
  expect_error(ghost, {"\"ghost\"", "does not hold it"});
  expect_error(nlohmann::json{{"metadata", {}}}, {"weight_map"});
  std::ofstream(index_path) << "{not json";
  EXPECT_THROW(Checkpoint::open(dir), std::runtime_error);
}

TEST(Checkpoint, GlobAndDuplicates) {
  const std::string dir = fresh_dir("glob");
  write_safetensors_file(dir + "/model-a.safetensors", {{{"x", DType::U8, {2}}, {1, 2}}});
  write_safetensors_file(dir + "/model-b.safetensors", {{{"y", DType::U8, {1}}, {3}}});
  write_safetensors_file(dir + "/other.safetensors", {{{"z", DType::U8, {1}}, {4}}});  // not model*
  auto ck = Checkpoint::open(dir);
  EXPECT_EQ(ck->names(), (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(ck->total_bytes(), fs::file_size(dir + "/model-a.safetensors") +
                                   fs::file_size(dir + "/model-b.safetensors"));
  EXPECT_EQ(ck->get("y").data[0], 3);
  EXPECT_FALSE(ck->has("z"));
  try {
    ck->get("z");
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("\"z\""), std::string::npos);
  }

  write_safetensors_file(dir + "/model-c.safetensors", {{{"x", DType::U8, {1}}, {9}}});
  try {
    Checkpoint::open(dir);
    FAIL();
  } catch (const std::runtime_error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("\"x\" appears in both"), std::string::npos) << msg;
    EXPECT_NE(msg.find("model-c.safetensors"), std::string::npos) << msg;
  }
}

TEST(Checkpoint, SingleFilePathAndErrors) {
  const std::string fixture = std::string(TIGHTFIT_TEST_DATA) + "/tiny-qwen35moe-a";
  auto by_dir = Checkpoint::open(fixture);
  auto by_file = Checkpoint::open(fixture + "/model.safetensors");
  EXPECT_EQ(by_dir->names(), by_file->names());
  EXPECT_EQ(by_dir->names().size(), 72u);
  EXPECT_EQ(by_file->dir(), fixture);
  EXPECT_EQ(by_dir->total_bytes(), 758200u);
  EXPECT_EQ(by_dir->specs().size(), 72u);

  EXPECT_THROW(Checkpoint::open(fresh_dir("empty")), std::runtime_error);
  EXPECT_THROW(Checkpoint::open(testing::TempDir() + "/no/such/place"), std::runtime_error);
}

}  // namespace
}  // namespace tf
