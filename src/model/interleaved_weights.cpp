#include "model/interleaved_weights.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <unordered_set>
#include <vector>

#include "kernels/linear_internal.h"

namespace tf {

namespace {

// Asks the kernel to drop this process's pages of [p, p + n) (whole pages inside it only): the
// mapped original of a matrix nothing reads any more. The file's pages stay in the page cache,
// reclaimable, until memory is wanted.
void release_mapped(const uint8_t* p, size_t n) {
  const auto page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const uintptr_t begin = (reinterpret_cast<uintptr_t>(p) + page - 1) / page * page;
  const uintptr_t end = (reinterpret_cast<uintptr_t>(p) + n) / page * page;
  if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
}

size_t params_bytes(const WeightMatrix& w) {
  return static_cast<size_t>(w.rows * w.groups_per_row()) * dtype_size(w.dtype);
}

}  // namespace

void UnmapAnonymous::operator()(uint8_t* p) const { munmap(p, bytes); }

InterleavedMatrices interleaved_matrices_for(ActivationPrecision precision) {
  if (precision != ActivationPrecision::Int8 || simd::q8_interleaved_layout() == WeightMatrix::Layout::Rows)
    return InterleavedMatrices::None;
  if (const char* env = std::getenv("TIGHTFIT_WEIGHT_LAYOUT")) {
    if (std::string(env) == "rows") return InterleavedMatrices::None;
    if (std::string(env) == "experts") return InterleavedMatrices::RoutedExperts;
  }
  return InterleavedMatrices::All;
}

int interleaved_block_rows() {
  WeightMatrix w;
  w.layout = simd::q8_interleaved_layout();
  return static_cast<int>(w.block_rows());
}

bool interleaves(InterleavedMatrices which, bool routed_expert, int bits, int group_size,
                 int64_t rows, int64_t cols) {
  if (which == InterleavedMatrices::None || (which == InterleavedMatrices::RoutedExperts && !routed_expert))
    return false;
  WeightMatrix w;
  w.format = WeightMatrix::Format::Affine;
  w.dtype = DType::BF16;  // MLX's scales and biases: bf16, f16 or f32 all fit
  w.bits = bits;
  w.group_size = group_size;
  w.rows = rows;
  w.cols = cols;
  return simd::q8_interleaved_fits(simd::q8_interleaved_layout(), w);
}

InterleavedWeights InterleavedWeights::make(const std::vector<WeightMatrix*>& listed, ThreadPool& pool) {
  const WeightMatrix::Layout layout = simd::q8_interleaved_layout();
  std::vector<WeightMatrix*> matrices;
  std::unordered_set<const WeightMatrix*> seen;
  for (WeightMatrix* w : listed)
    if (w->layout == WeightMatrix::Layout::Rows && simd::q8_interleaved_fits(layout, *w) && seen.insert(w).second)
      matrices.push_back(w);
  InterleavedWeights out;
  if (matrices.empty()) return out;
  std::vector<size_t> offset(matrices.size() + 1, 0);
  for (size_t i = 0; i < matrices.size(); ++i) {
    const WeightMatrix& w = *matrices[i];
    // 64-byte aligned starts: the kernel's vectors are whole cache lines.
    const size_t bytes = w.row_bytes() * static_cast<size_t>(w.rows) + 2 * params_bytes(w);
    offset[i + 1] = offset[i] + (bytes + 63) / 64 * 64;
  }
  out.bytes_ = offset.back();
  void* map = mmap(nullptr, out.bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (map == MAP_FAILED)
    throw std::runtime_error("cannot allocate " + std::to_string(out.bytes_ >> 20) +
                             " MiB for the weights' interleaved layout (TIGHTFIT_WEIGHT_LAYOUT=rows "
                             "reads them from the checkpoint instead)");
  madvise(map, out.bytes_, MADV_HUGEPAGE);
  out.memory_ = std::unique_ptr<uint8_t, UnmapAnonymous>(static_cast<uint8_t*>(map), UnmapAnonymous{out.bytes_});
  uint8_t* base = out.memory_.get();
  // A run of matrices that follow one another (a projection's experts: one stacked tensor, each
  // expert's matrix right after the previous one's; else one matrix) at a time: interleaved in
  // parallel, then the mapped originals released as whole ranges. Released matrix by matrix,
  // the pages an expert shares with its neighbours (its scales and biases are a few KiB) would
  // stay resident beside their copies; released only at the end, the whole checkpoint's
  // matrices would be resident twice at the peak.
  size_t first = 0;
  while (first < matrices.size()) {
    size_t last = first + 1;
    const auto follows = [&](const WeightMatrix& a, const WeightMatrix& b) {
      return b.rows == a.rows && b.cols == a.cols && b.data == a.data + a.row_bytes() * static_cast<size_t>(a.rows);
    };
    while (last < matrices.size() && follows(*matrices[last - 1], *matrices[last])) ++last;
    std::vector<std::array<const uint8_t*, 3>> sources(last - first);
    // Tasks of at most kTaskRows rows (whole blocks of 16: the layout keeps a block's codes and
    // parameters contiguous, so a row slice interleaves on its own), so that one large matrix
    // (the output head) is split over the threads too.
    constexpr int64_t kTaskRows = 4096;
    struct Task {
      size_t matrix;
      int64_t row;
    };
    std::vector<Task> tasks;
    for (size_t i = first; i < last; ++i)
      for (int64_t r = 0; r < matrices[i]->rows; r += kTaskRows) tasks.push_back({i, r});
    pool.run(static_cast<int64_t>(tasks.size()), [&](int64_t k, int) {
      const Task& task = tasks[static_cast<size_t>(k)];
      const WeightMatrix& w = *matrices[task.matrix];
      const int64_t n = std::min(kTaskRows, w.rows - task.row);
      uint8_t* codes = base + offset[task.matrix];
      uint8_t* scales = codes + w.row_bytes() * static_cast<size_t>(w.rows);
      uint8_t* biases = scales + params_bytes(w);
      const size_t skip_params = static_cast<size_t>(task.row * w.groups_per_row()) * dtype_size(w.dtype);
      simd::q8_interleave(layout, w.row_slice(task.row, n), codes + w.row_bytes() * static_cast<size_t>(task.row),
                                 scales + skip_params, biases + skip_params);
    });
    for (size_t i = first; i < last; ++i) {
      WeightMatrix& w = *matrices[i];
      sources[i - first] = {w.data, w.scales, w.biases};
      w.data = base + offset[i];
      w.scales = w.data + w.row_bytes() * static_cast<size_t>(w.rows);
      w.biases = w.scales + params_bytes(w);
      w.layout = layout;
    }
    // Codes, scales and biases of the run: three contiguous ranges (or, for experts bound one
    // tensor each, a range per matrix).
    for (int part = 0; part < 3; ++part) {
      const WeightMatrix& w0 = *matrices[first];
      const size_t per = part == 0 ? w0.row_bytes() * static_cast<size_t>(w0.rows) : params_bytes(w0);
      const uint8_t* begin = sources[0][static_cast<size_t>(part)];
      size_t length = per;
      for (size_t k = 1; k < sources.size(); ++k) {
        const uint8_t* p = sources[k][static_cast<size_t>(part)];
        if (p == begin + length) {
          length += per;
        } else {
          release_mapped(begin, length);
          begin = p;
          length = per;
        }
      }
      release_mapped(begin, length);
    }
    first = last;
  }
  return out;
}

}  // namespace tf
