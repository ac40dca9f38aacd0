#include "model/expert_layout.h"

#include <sys/mman.h>
#include <unistd.h>

#include <array>
#include <cstdlib>
#include <stdexcept>
#include <string>
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

bool interleave_experts_for(ActivationPrecision precision) {
  if (const char* env = std::getenv("TIGHTFIT_EXPERT_LAYOUT"); env != nullptr && std::string(env) == "rows")
    return false;
  return precision == ActivationPrecision::Int8 && simd::q8_rows16_supported();
}

InterleavedExperts InterleavedExperts::make(std::span<LayerWeights* const> layers, ThreadPool& pool) {
  std::vector<WeightMatrix*> matrices;
  // Projection by projection, so that each stacked tensor's experts are consecutive.
  for (LayerWeights* layer : layers) {
    if (!layer->is_moe) continue;
    for (WeightMatrix SwiGluWeights::*projection : {&SwiGluWeights::gate, &SwiGluWeights::up, &SwiGluWeights::down})
      for (SwiGluWeights& e : layer->moe.experts) {
        WeightMatrix* w = &(e.*projection);
        if (w->layout == WeightMatrix::Layout::Rows && simd::q8_rows16_layout_fits(*w)) matrices.push_back(w);
      }
  }
  InterleavedExperts out;
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
                             " MiB for the routed experts' interleaved layout (TIGHTFIT_EXPERT_LAYOUT=rows "
                             "reads them from the checkpoint instead)");
  madvise(map, out.bytes_, MADV_HUGEPAGE);
  out.memory_ = std::unique_ptr<uint8_t, UnmapAnonymous>(static_cast<uint8_t*>(map), UnmapAnonymous{out.bytes_});
  uint8_t* base = out.memory_.get();
  // A projection's experts (one stacked tensor: each expert's matrix right after the previous
  // one's) at a time: interleaved in parallel, then the mapped originals released as whole
  // ranges. Released matrix by matrix, the pages a matrix shares with its neighbours (its
  // scales and biases are a few KiB) would stay resident beside their copies; released only at
  // the end, the whole checkpoint's experts would be resident twice at the peak.
  size_t first = 0;
  while (first < matrices.size()) {
    size_t last = first + 1;
    const auto follows = [&](const WeightMatrix& a, const WeightMatrix& b) {
      return b.rows == a.rows && b.cols == a.cols && b.data == a.data + a.row_bytes() * static_cast<size_t>(a.rows);
    };
    while (last < matrices.size() && follows(*matrices[last - 1], *matrices[last])) ++last;
    std::vector<std::array<const uint8_t*, 3>> sources(last - first);
    pool.run(static_cast<int64_t>(last - first), [&](int64_t k, int) {
      const size_t i = first + static_cast<size_t>(k);
      WeightMatrix& w = *matrices[i];
      uint8_t* codes = base + offset[i];
      uint8_t* scales = codes + w.row_bytes() * static_cast<size_t>(w.rows);
      uint8_t* biases = scales + params_bytes(w);
      simd::q8_rows16_interleave(w, codes, scales, biases);
      sources[static_cast<size_t>(k)] = {w.data, w.scales, w.biases};
      w.data = codes;
      w.scales = scales;
      w.biases = biases;
      w.layout = WeightMatrix::Layout::Rows16;
    });
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
