// Writing one planned tensor from the mmapped input to the sharded writer, a slab at a time
// (used by converter.cpp).
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "kernels/thread_pool.h"
#include "quant/convert_plan.h"
#include "quant/mlx_affine.h"
#include "storage/safetensors.h"
#include "storage/safetensors_writer.h"

namespace tf {

class TensorStreamer {
 public:
  // work_bytes bounds the slab buffers; on_bytes(n) is called after each n input bytes consumed.
  TensorStreamer(const Checkpoint& input, ShardedSafetensorsWriter& writer, ThreadPool& pool,
                 uint64_t work_bytes, AffineRounding rounding,
                 std::function<void(uint64_t)> on_bytes);

  // Writes the outputs of `t` (its .weight/.scales/.biases, or the dense tensor) in the order
  // ConvertPlan::output_specs lists them. Returns the bytes written.
  uint64_t write(const PlannedTensor& t, DType scale_dtype);

 private:
  uint64_t write_dense(const PlannedTensor& t);
  uint64_t write_patch_embed(const PlannedTensor& t);
  uint64_t write_quantized(const PlannedTensor& t, DType scale_dtype);
  const TensorView& source(const SourceRange& r) const;
  // Drops the input pages of [p, p + n), widened by kReleaseMargin on both sides but never
  // beyond the data of the file it lies in, from this process (they stay in the page cache). The
  // margin matters: a read fault may map a whole large folio around the page read, so reading a
  // slab also maps its neighbours (e.g. the up half of an expert while its gate half is read).
  void release(const uint8_t* p, size_t n) const;

  const Checkpoint& input_;
  ShardedSafetensorsWriter& writer_;
  ThreadPool& pool_;
  uint64_t work_bytes_;
  AffineRounding rounding_;
  std::function<void(uint64_t)> on_bytes_;
  std::vector<std::pair<const uint8_t*, const uint8_t*>> file_data_;  // [begin, end) per input file
  std::vector<float> floats_;
  std::vector<uint8_t> bytes_, scales_, biases_;
};

}  // namespace tf
