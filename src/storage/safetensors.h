// Safetensors reading (spec §6): one mmapped file, or a sharded checkpoint folder.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "storage/tensor.h"

namespace tf {

// One .safetensors file, memory-mapped read-only. The header is validated completely at open
// (JSON, dtype codes, offsets inside the file, no overlaps, shape × itemsize = byte length), so
// every TensorView handed out is in bounds. Errors are std::runtime_error naming file + tensor.
class SafetensorsFile {
 public:
  static std::unique_ptr<SafetensorsFile> open(const std::string& path);
  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::string& path() const { return path_; }
  size_t file_size() const { return size_; }
  const uint8_t* mapped_data() const { return map_; }  // the whole file, mapped read-only
  // nullptr when absent.
  const TensorView* find(const std::string& name) const;
  // All tensors in file order (by data offset).
  const std::vector<TensorView>& tensors() const { return tensors_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

 private:
  SafetensorsFile() = default;
  std::string path_;
  const uint8_t* map_ = nullptr;
  size_t size_ = 0;
  std::vector<TensorView> tensors_;
  std::map<std::string, size_t> index_;
  std::map<std::string, std::string> metadata_;
};

// All safetensors of a model folder: the shards named by `model.safetensors.index.json`
// (validated: every listed shard exists and holds the tensors listed for it), else
// `model.safetensors`, else every `model*.safetensors` (as the MLX loaders glob). `path` may also
// be one .safetensors file (dir() is then its folder). A tensor name found in two files is an
// error; tensors of a listed shard that the index does not mention are kept (MLX loads them).
class Checkpoint {
 public:
  static std::unique_ptr<Checkpoint> open(const std::string& path);

  const std::string& dir() const { return dir_; }
  bool has(const std::string& name) const { return index_.count(name) != 0; }
  // Throws a runtime_error naming the tensor and folder when absent.
  const TensorView& get(const std::string& name) const;
  const TensorView* find(const std::string& name) const;
  // Sorted names of every tensor.
  std::vector<std::string> names() const;
  // Name, dtype and shape of every tensor, sorted by name.
  std::vector<TensorSpec> specs() const;
  const std::vector<std::unique_ptr<SafetensorsFile>>& files() const { return files_; }
  size_t total_bytes() const;  // sum of file sizes on disk

 private:
  std::string dir_;
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::map<std::string, const TensorView*> index_;
};

}  // namespace tf
