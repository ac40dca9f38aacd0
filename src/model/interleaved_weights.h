// Quantized weight matrices re-laid out at load for the Int8 tile kernels
// (kernels/linear_q8_rows16.cpp on AVX-512 VNNI, kernels/linear_q8_rows8.cpp on 256-bit x86):
// each 2- or 3-bit matrix's rows interleaved in blocks of 16 (8), in
// anonymous memory the model owns, the views re-pointed and the mapped originals released. Why:
// on CPUs where decode is bound by arithmetic rather than memory, that kernel runs a matrix at
// one token faster than the row kernel (2-bit experts 1.9–3.9×, 3-bit projections 1.05–1.35×)
// and a few tokens — a batched step, a speculative verify — for little more (docs/kernels.md,
// bench/RESULTS.md). The checkpoint on disk keeps MLX's layout.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "kernels/linear.h"
#include "kernels/thread_pool.h"

namespace tf {

// Which quantized matrices a model interleaves at load.
enum class InterleavedMatrices : uint8_t {
  None,           // every matrix in the checkpoint's layout
  RoutedExperts,  // the routed experts only (what the first version did; for comparisons)
  All,            // every 2- or 3-bit matrix a matmul reads whose shape fits the layout
};

// What a model whose forward passes run at `precision` interleaves on this CPU: All with Int8
// and a kernel available (AVX-512 VNNI, VBMI, GFNI: 16 rows; AVX2: 8 rows), else None. The environment variable
// TIGHTFIT_WEIGHT_LAYOUT=rows keeps MLX's layout, =experts interleaves only the routed experts.
InterleavedMatrices interleaved_matrices_for(ActivationPrecision precision);

// Rows per interleaved block on this CPU: 16 (AVX-512 VNNI + VBMI), 8 (256-bit x86), 1 (none).
int interleaved_block_rows();

// Whether a matrix of these dimensions is interleaved under `which` (the kernel's own test,
// simd::q8_interleaved_fits, for a matrix of that shape): what the memory plan counts as
// anonymous memory before a model is loaded.
bool interleaves(InterleavedMatrices which, bool routed_expert, int bits, int group_size,
                 int64_t rows, int64_t cols);

struct UnmapAnonymous {
  size_t bytes = 0;
  void operator()(uint8_t* p) const;
};

class InterleavedWeights {
 public:
  InterleavedWeights() = default;
  // Interleaves the matrices of `matrices` that fit the running kernel's layout (2- or 3-bit,
  // whole blocks of 16 / 8 rows, rows of a multiple of 256 / 32 codes), and re-points their views; the rest keep
  // theirs. A matrix listed twice (one view shared by two names) is done once. Matrices that
  // follow one another in the checkpoint (a stacked tensor's experts) are best listed in that
  // order: their originals are then released in whole ranges. Work split over `pool`.
  static InterleavedWeights make(const std::vector<WeightMatrix*>& matrices, ThreadPool& pool);
  // Bytes of anonymous memory holding the interleaved matrices (codes, scales and biases).
  size_t bytes() const { return bytes_; }

 private:
  // Anonymous pages from mmap (transparent huge pages asked for: fewer faults at load, fewer
  // TLB misses in decode), unmapped with the model.
  std::unique_ptr<uint8_t, UnmapAnonymous> memory_;
  size_t bytes_ = 0;
};

}  // namespace tf
