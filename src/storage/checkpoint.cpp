// A model folder's safetensors (spec §6): one file, the shards an index names, or every
// `model*.safetensors` as the MLX loaders glob them.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "storage/safetensors.h"
#include "base/json_read.h"
#include "storage/tensor_names.h"

namespace tf {

namespace fs = std::filesystem;

namespace {

constexpr const char* kIndexName = "model.safetensors.index.json";
constexpr const char* kSingleName = "model.safetensors";

// weight_map of an index file: tensor name → shard file name (relative to the folder).
std::map<std::string, std::string> read_index(const fs::path& index_path) {
  const std::string ip = index_path.string();
  nlohmann::json j = read_json_file(index_path);
  if (!j.is_object() || !j.contains("weight_map") || !j["weight_map"].is_object())
    throw std::runtime_error(ip + ": no \"weight_map\" object");
  std::map<std::string, std::string> map;
  for (auto it = j["weight_map"].begin(); it != j["weight_map"].end(); ++it) {
    if (!it->is_string())
      throw std::runtime_error(ip + ": weight_map entry for tensor \"" + it.key() +
                               "\" is not a file name");
    const std::string file = it->get<std::string>();
    if (file.empty() || fs::path(file).is_absolute() || file.find("..") != std::string::npos)
      throw std::runtime_error(ip + ": weight_map entry for tensor \"" + it.key() +
                               "\" names \"" + file + "\", which is not a file in this folder");
    map[it.key()] = file;
  }
  return map;
}

}  // namespace

std::unique_ptr<Checkpoint> Checkpoint::open(const std::string& path) {
  std::unique_ptr<Checkpoint> ck(new Checkpoint());
  std::error_code ec;
  const fs::path p(path);
  std::vector<fs::path> files;
  std::map<std::string, std::string> weight_map;  // from the index, when there is one

  if (fs::is_regular_file(p, ec)) {
    ck->dir_ = p.has_parent_path() ? p.parent_path().string() : std::string(".");
    files.push_back(p);
  } else if (fs::is_directory(p, ec)) {
    ck->dir_ = path;
    if (fs::exists(p / kIndexName)) {
      weight_map = read_index(p / kIndexName);
      std::set<std::string> shard_names;
      for (const auto& [name, file] : weight_map) shard_names.insert(file);
      for (const auto& file : shard_names) {
        if (!fs::is_regular_file(p / file, ec))
          throw std::runtime_error((p / kIndexName).string() + ": lists shard \"" + file +
                                   "\", which does not exist in " + path +
                                   " (incomplete download?)");
        files.push_back(p / file);
      }
    } else if (fs::is_regular_file(p / kSingleName, ec)) {
      files.push_back(p / kSingleName);
    } else {
      for (const auto& e : fs::directory_iterator(p, ec)) {
        const std::string name = e.path().filename().string();
        if (e.is_regular_file() && starts_with(name, "model") && ends_with(name, ".safetensors"))
          files.push_back(e.path());
      }
      std::sort(files.begin(), files.end());
    }
    if (files.empty())
      throw std::runtime_error(path + ": no model*.safetensors files in this folder");
  } else {
    throw std::runtime_error(path + ": no such file or folder");
  }

  for (const auto& f : files) ck->files_.push_back(SafetensorsFile::open(f.string()));

  // Every tensor of every file, each name once.
  std::map<std::string, const SafetensorsFile*> owner;
  for (const auto& file : ck->files_) {
    for (const TensorView& t : file->tensors()) {
      auto [it, inserted] = owner.emplace(t.name, file.get());
      if (!inserted)
        throw std::runtime_error(path + ": tensor \"" + t.name + "\" appears in both " +
                                 it->second->path() + " and " + file->path());
      ck->index_[t.name] = &t;
    }
  }
  for (const auto& [name, file] : weight_map) {
    const fs::path shard = p / file;
    auto it = owner.find(name);
    if (it == owner.end() || fs::path(it->second->path()) != shard)
      throw std::runtime_error((p / kIndexName).string() + ": lists tensor \"" + name +
                               "\" in " + file + ", but that shard does not hold it" +
                               (it == owner.end() ? "" : " (found in " + it->second->path() + ")"));
  }
  return ck;
}

const TensorView& Checkpoint::get(const std::string& name) const {
  const TensorView* t = find(name);
  if (!t) throw std::runtime_error(dir_ + ": checkpoint has no tensor \"" + name + "\"");
  return *t;
}

const TensorView* Checkpoint::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : it->second;
}

std::vector<std::string> Checkpoint::names() const {
  std::vector<std::string> out;
  out.reserve(index_.size());
  for (const auto& [name, t] : index_) out.push_back(name);
  return out;
}

std::vector<TensorSpec> Checkpoint::specs() const {
  std::vector<TensorSpec> out;
  out.reserve(index_.size());
  for (const auto& [name, t] : index_) out.push_back(spec_of(*t));
  return out;
}

size_t Checkpoint::total_bytes() const {
  size_t n = 0;
  for (const auto& f : files_) n += f->file_size();
  return n;
}

}  // namespace tf
