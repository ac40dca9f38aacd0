// Routed experts re-laid out at load for the 2-bit Int8 kernel (kernels/linear_q8_rows16.cpp):
// each expert matrix's rows interleaved in blocks of 16, in anonymous memory the model owns,
// the views re-pointed and the mapped originals released. Why: on CPUs where decode is bound by
// arithmetic rather than memory, that kernel runs an expert's 2-bit matrix at one token 1.9–3.9×
// as fast as the row kernel, and a few tokens (a batched step, a speculative verify) for little
// more (docs/kernels.md, bench/RESULTS.md). The checkpoint on disk keeps MLX's layout.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "kernels/linear.h"
#include "kernels/thread_pool.h"
#include "model/qwen35_weights.h"

namespace tf {

// Whether a model whose forward passes run at `precision` gets its experts interleaved on this
// CPU: Int8 with the kernel available (AVX-512 VNNI and VBMI). The environment variable
// TIGHTFIT_EXPERT_LAYOUT=rows keeps MLX's layout (for comparisons).
bool interleave_experts_for(ActivationPrecision precision);

struct UnmapAnonymous {
  size_t bytes = 0;
  void operator()(uint8_t* p) const;
};

class InterleavedExperts {
 public:
  InterleavedExperts() = default;
  // Interleaves the routed experts of `layers` whose matrices fit the kernel's layout (2-bit,
  // whole blocks of 16 rows, rows of a multiple of 256 codes) and re-points their views; the
  // rest keep their views. Work split over `pool`.
  static InterleavedExperts make(std::span<LayerWeights* const> layers, ThreadPool& pool);
  // Bytes of anonymous memory holding the interleaved matrices (codes, scales and biases).
  size_t bytes() const { return bytes_; }

 private:
  // Anonymous pages from mmap (transparent huge pages asked for: fewer faults at load, fewer
  // TLB misses in decode), unmapped with the model.
  std::unique_ptr<uint8_t, UnmapAnonymous> memory_;
  size_t bytes_ = 0;
};

}  // namespace tf
