#include "quant/convert_stream.h"

#include "quant/parallel_rows.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace tf {

namespace {

// n floats from a float-typed buffer, the dtype switch hoisted out of the loop.
void to_floats(const uint8_t* src, DType t, size_t n, float* out) {
  switch (t) {
    case DType::BF16:
      for (size_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, src + 2 * i, 2);
        out[i] = bf16_to_f32(h);
      }
      return;
    case DType::F32:
      std::memcpy(out, src, 4 * n);
      return;
    default:
      for (size_t i = 0; i < n; ++i) out[i] = load_float(src, t, i);
  }
}

void from_floats(const float* in, size_t n, DType t, uint8_t* out) {
  if (t == DType::BF16) {
    for (size_t i = 0; i < n; ++i) {
      const uint16_t h = f32_to_bf16(in[i]);
      std::memcpy(out + 2 * i, &h, 2);
    }
    return;
  }
  for (size_t i = 0; i < n; ++i) store_float(out, t, i, in[i]);
}

}  // namespace

TensorStreamer::TensorStreamer(const Checkpoint& input, ShardedSafetensorsWriter& writer,
                               ThreadPool& pool, uint64_t work_bytes, AffineRounding rounding,
                               std::function<void(uint64_t)> on_bytes)
    : input_(input), writer_(writer), pool_(pool),
      work_bytes_(std::max<uint64_t>(work_bytes, 1 << 20)), rounding_(rounding),
      on_bytes_(std::move(on_bytes)) {
  for (const auto& f : input.files()) {
    const uint8_t *lo = nullptr, *hi = nullptr;
    for (const auto& t : f->tensors()) {
      if (!lo || t.data < lo) lo = t.data;
      if (!hi || t.data + t.nbytes > hi) hi = t.data + t.nbytes;
    }
    if (lo && hi > lo) file_data_.emplace_back(lo, hi);
  }
}

void TensorStreamer::release(const uint8_t* p, size_t n) const {
  static const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  constexpr uintptr_t kReleaseMargin = 4u << 20;
  for (const auto& [lo, hi] : file_data_) {
    if (p < lo || p >= hi) continue;
    const uintptr_t a = reinterpret_cast<uintptr_t>(p), b = a + n;
    // Clipped to the file's tensor data, then to pages of the same (file-backed, read-only)
    // mapping: the page holding `lo` starts at or after the mapping's start (offset 0).
    const uintptr_t begin = std::max(a - std::min(a, kReleaseMargin), reinterpret_cast<uintptr_t>(lo)) & ~(page - 1);
    const uintptr_t end = std::min(b + kReleaseMargin, reinterpret_cast<uintptr_t>(hi));
    // Read-only file pages: dropping them only means a later touch maps them again.
    if (end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
    return;
  }
}

const TensorView& TensorStreamer::source(const SourceRange& r) const {
  const TensorView& v = input_.get(r.tensor);
  if (r.offset < 0 || r.count < 0 || r.offset + r.count > v.numel())
    throw std::logic_error("convert plan reads outside tensor " + r.tensor);
  return v;
}

uint64_t TensorStreamer::write(const PlannedTensor& t, DType scale_dtype) {
  try {
    if (t.quantized()) return write_quantized(t, scale_dtype);
    if (t.transform == PlanTransform::PatchEmbed) return write_patch_embed(t);
    return write_dense(t);
  } catch (const std::invalid_argument& e) {  // quantizer: non-finite weight, F16 overflow
    throw std::runtime_error("tensor " + t.name + ": " + e.what());
  }
}

uint64_t TensorStreamer::write_dense(const PlannedTensor& t) {
  const size_t in_size = dtype_size(t.source_dtype), out_size = dtype_size(t.dtype);
  const bool raw = t.transform == PlanTransform::KeepDtype ||
                   (t.transform == PlanTransform::Copy && t.source_dtype == t.dtype);
  const int64_t chunk = std::max<int64_t>(1, work_bytes_ / 8);
  uint64_t written = 0;
  for (const auto& r : t.sources) {
    const TensorView& v = source(r);
    for (int64_t done = 0; done < r.count; done += chunk) {
      const int64_t n = std::min(chunk, r.count - done);
      const uint8_t* src = v.data + (r.offset + done) * in_size;
      if (raw) {
        writer_.write(t.name, src, n * in_size);
      } else {
        floats_.resize(n);
        bytes_.resize(n * out_size);
        const float add = t.transform == PlanTransform::AddOne ? 1.0f : 0.0f;
        parallel_rows(pool_, n, 1 << 16, [&](int64_t b, int64_t e) {
          to_floats(src + b * in_size, t.source_dtype, e - b, floats_.data() + b);
          for (int64_t i = b; i < e; ++i) floats_[i] += add;
          from_floats(floats_.data() + b, e - b, t.dtype, bytes_.data() + b * out_size);
        });
        writer_.write(t.name, bytes_.data(), n * out_size);
      }
      written += n * out_size;
      release(src, n * in_size);
      on_bytes_(n * in_size);
    }
  }
  return written;
}

uint64_t TensorStreamer::write_patch_embed(const PlannedTensor& t) {
  // Small (≈ 2.4M values at full size): permuted in memory. Source [O, C, T, kh, kw].
  const SourceRange& r = t.sources.at(0);
  const TensorView& v = source(r);
  const int64_t O = t.shape[0], T = t.shape[1], KH = t.shape[2], KW = t.shape[3], C = t.shape[4];
  std::vector<float> in(v.numel()), out(v.numel());
  to_floats(v.data, v.dtype, in.size(), in.data());
  for (int64_t o = 0; o < O; ++o)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t tt = 0; tt < T; ++tt)
        for (int64_t y = 0; y < KH; ++y)
          for (int64_t x = 0; x < KW; ++x)
            out[(((o * T + tt) * KH + y) * KW + x) * C + c] = in[(((o * C + c) * T + tt) * KH + y) * KW + x];
  bytes_.resize(out.size() * dtype_size(t.dtype));
  from_floats(out.data(), out.size(), t.dtype, bytes_.data());
  writer_.write(t.name, bytes_.data(), bytes_.size());
  on_bytes_(v.nbytes);
  return bytes_.size();
}

uint64_t TensorStreamer::write_quantized(const PlannedTensor& t, DType scale_dtype) {
  const int64_t K = t.cols(), rows = t.rows(), G = K / t.group_size;
  const AffineQuantSpec spec{t.bits, t.group_size, scale_dtype, rounding_};
  validate_affine_spec(spec, K);
  const size_t row_bytes = affine_row_bytes(t.bits, K), in_size = dtype_size(t.source_dtype);
  const size_t ss = dtype_size(scale_dtype);
  scales_.assign(rows * G * ss, 0);
  biases_.assign(rows * G * ss, 0);
  // Per row in flight: K floats + the packed codes.
  const int64_t slab = std::max<int64_t>(1, work_bytes_ / (K * 4 + row_bytes));
  const std::string weight_name = t.module + ".weight";
  int64_t out_row = 0;
  uint64_t written = 0;
  for (const auto& r : t.sources) {
    const TensorView& v = source(r);
    if (r.offset % K || r.count % K) throw std::logic_error("convert plan splits a row of " + r.tensor);
    const int64_t first = r.offset / K, count = r.count / K;
    for (int64_t done = 0; done < count; done += slab) {
      const int64_t n = std::min(slab, count - done);
      const uint8_t* src = v.data + (first + done) * K * in_size;
      floats_.resize(n * K);
      bytes_.resize(n * row_bytes);
      parallel_rows(pool_, n, 8, [&](int64_t b, int64_t e) {
        to_floats(src + b * K * in_size, t.source_dtype, (e - b) * K, floats_.data() + b * K);
        affine_quantize_rows(floats_.data() + b * K, e - b, K, spec, bytes_.data() + b * row_bytes,
                             scales_.data() + (out_row + b) * G * ss,
                             biases_.data() + (out_row + b) * G * ss);
      });
      writer_.write(weight_name, bytes_.data(), bytes_.size());
      written += bytes_.size();
      out_row += n;
      release(src, n * K * in_size);
      on_bytes_(n * K * in_size);
    }
  }
  if (out_row != rows) throw std::logic_error("convert plan row count mismatch for " + t.name);
  writer_.write(t.module + ".scales", scales_.data(), scales_.size());
  writer_.write(t.module + ".biases", biases_.data(), biases_.size());
  return written + scales_.size() + biases_.size();
}

}  // namespace tf
