// Streaming safetensors writer (spec §6): tensors go to disk as they are added; shards of a
// chosen maximum size plus `model.safetensors.index.json`.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "storage/dtype.h"
#include "storage/tensor.h"  // TensorSpec

namespace tf {

// Usage: declare every tensor up front (name, dtype, shape) so headers and shard boundaries are
// known, then write each tensor's bytes in declaration order, possibly in pieces. Only one
// tensor's piece is ever held by the caller; nothing is buffered here beyond a small I/O buffer.
// Files are written as "<name>.partial" and renamed by finish(), so an interrupted run never
// leaves a folder that looks complete.
class ShardedSafetensorsWriter {
 public:
  // max_shard_bytes: a shard is closed before a tensor would push it past this (one tensor
  // larger than the limit gets a shard of its own). metadata goes in every header.
  ShardedSafetensorsWriter(std::string out_dir, std::vector<TensorSpec> tensors,
                           uint64_t max_shard_bytes,
                           std::map<std::string, std::string> metadata = {{"format", "mlx"}});
  ~ShardedSafetensorsWriter();

  // Append bytes of the current tensor (declaration order). One call never spans two tensors:
  // more bytes than the current tensor has left is an error (it would shift every later tensor).
  void write(const void* data, size_t nbytes);
  // Same, and checks that `name` is the tensor these bytes belong to (catches a skipped tensor
  // at the first byte instead of at finish()).
  void write(const std::string& name, const void* data, size_t nbytes);
  // Verifies every tensor was fully written, renames the shards into place and writes the index
  // (single shard → `model.safetensors` and no index, as MLX does). Returns the file names.
  std::vector<std::string> finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Convenience: writes a whole set of in-memory tensors to one file (tests, small outputs).
struct OwnedTensor {
  TensorSpec spec;
  std::vector<uint8_t> data;
};
void write_safetensors_file(const std::string& path, const std::vector<OwnedTensor>& tensors,
                            const std::map<std::string, std::string>& metadata = {});

}  // namespace tf
