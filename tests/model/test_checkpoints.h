// Test-only checkpoint writers derived from the HF-layout tiny fixture: an MLX-layout
// conversion (renamed, stacked experts, moved conv, +1 norms, optionally MLX-affine quantized),
// an HF per-expert variant, and a helper to write arbitrary edits for error-path tests.
#pragma once

#include <functional>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "storage/dtype.h"

namespace tf::test {

// A fresh empty folder under the system temp dir (removed by the destructor).
struct TempDir {
  std::string path;
  explicit TempDir(const std::string& tag);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
};

struct MlxConversion {
  int bits = 0;          // 0: keep every linear dense (float values unchanged)
  int group_size = 64;
  // MLX's default predicate (spec §5.6): routers and shared-expert gates at 8 bits.
  bool eight_bit_routers = true;
  // Write the dequantized values (float32, dense) instead of the quantized tensors: the
  // "same weights, float path" twin of a quantized conversion.
  bool dequantized = false;
  DType norm_dtype = DType::F32;  // +1 norms in F32 keep the HF values exactly
  bool keep_vision_config = false;  // mlx-vlm keeps it, mlx-lm drops it
};

// Converts the HF-layout checkpoint in src_dir (fused experts) into MLX layout in out_dir.
void convert_to_mlx(const std::string& src_dir, const std::string& out_dir,
                    const MlxConversion& options);

// Rewrites the fused HF expert tensors as per-expert `mlp.experts.{e}.{gate,up,down}_proj.weight`.
void convert_to_hf_per_expert(const std::string& src_dir, const std::string& out_dir);

// Copies src_dir to out_dir letting `edit_tensors` rename / reshape / drop / add tensors (as a
// JSON-free list of name → (dtype, shape, bytes)) and `edit_config` change config.json.
struct RawTensor {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;
};
void copy_checkpoint(const std::string& src_dir, const std::string& out_dir,
                     const std::function<void(std::vector<RawTensor>&)>& edit_tensors,
                     const std::function<void(nlohmann::json&)>& edit_config = {});

}  // namespace tf::test
