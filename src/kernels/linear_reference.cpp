// Scalar reference kernels: the definition of correct for every optimised path.
#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/linear.h"

namespace tf::reference {

namespace {

// Code k of a row stored as an LSB-first bitstream of `bits`-bit values (spec §5.3).
inline uint32_t unpack_code(const uint8_t* row, int bits, int64_t k) {
  const int64_t bit = k * bits;
  const int64_t byte = bit >> 3;
  const int shift = static_cast<int>(bit & 7);
  // A code spans at most 2 bytes for bits <= 8 with shift <= 7 ... except 8-bit at shift 0.
  uint32_t v = row[byte];
  if (shift + bits > 8) v |= static_cast<uint32_t>(row[byte + 1]) << 8;
  return (v >> shift) & ((1u << bits) - 1u);
}

// Row r's packed bytes in MLX order: in place, or gathered into `buffer` when interleaved.
const uint8_t* packed_row(const WeightMatrix& w, int64_t r, std::vector<uint8_t>& buffer) {
  if (w.layout == WeightMatrix::Layout::Rows) return w.data + static_cast<size_t>(r) * w.row_bytes();
  buffer.resize(w.row_bytes());
  w.copy_row(r, buffer.data());
  return buffer.data();
}

void dequantize_row(const WeightMatrix& w, int64_t r, float* out) {
  if (!w.quantized()) {
    const uint8_t* row = w.data + static_cast<size_t>(r) * w.row_bytes();
    for (int64_t k = 0; k < w.cols; ++k) out[k] = load_float(row, w.dtype, k);
    return;
  }
  // Kept by the thread: an interleaved model run at F32 precision gathers its rows through here
  // on every decode step (linear.cpp's fallback), which must not allocate once warm.
  thread_local std::vector<uint8_t> buffer;
  const uint8_t* row = packed_row(w, r, buffer);
  const int64_t groups = w.groups_per_row();
  for (int64_t g = 0; g < groups; ++g) {
    const float s = load_float(w.scales, w.dtype, w.param_index(r, g));
    const float b = load_float(w.biases, w.dtype, w.param_index(r, g));
    for (int64_t k = g * w.group_size; k < (g + 1) * w.group_size; ++k)
      out[k] = s * static_cast<float>(unpack_code(row, w.bits, k)) + b;
  }
}

}  // namespace

void dequantize_rows(const WeightMatrix& w, int64_t row, int64_t count, float* out) {
  for (int64_t i = 0; i < count; ++i) dequantize_row(w, row + i, out + i * w.cols);
}

void matvec(const WeightMatrix& w, const float* x, float* y) { matmul(w, x, 1, y); }

void matmul(const WeightMatrix& w, const float* x, int64_t tokens, float* y) {
  std::vector<float> row(w.cols);
  for (int64_t n = 0; n < w.rows; ++n) {
    dequantize_row(w, n, row.data());
    for (int64_t t = 0; t < tokens; ++t) {
      const float* xt = x + t * w.cols;
      double acc = 0.0;  // the reference accumulates in double: it defines "exact"
      for (int64_t k = 0; k < w.cols; ++k) acc += static_cast<double>(row[k]) * xt[k];
      y[t * w.rows + n] = static_cast<float>(acc);
    }
  }
}

}  // namespace tf::reference

// ---- ActivationPrecision::Int8 ------------------------------------------------------------
namespace tf::reference {

void quantize_activations_q8(const float* x, int64_t cols, int group_size, int8_t* q, float* d) {
  for (int64_t g = 0; (g + 1) * group_size <= cols; ++g) {
    const float* xg = x + g * group_size;
    float m = 0.0f;
    for (int j = 0; j < group_size; ++j) m = std::max(m, std::fabs(xg[j]));
    const float inv = m > 0.0f ? 127.0f / m : 0.0f;
    d[g] = m / 127.0f;
    for (int j = 0; j < group_size; ++j) {
      const float r = std::nearbyint(xg[j] * inv);  // default rounding mode: half to even
      q[g * group_size + j] = static_cast<int8_t>(std::clamp(r, -127.0f, 127.0f));
    }
  }
}

void matmul_q8(const WeightMatrix& w, const float* x, int64_t tokens, float* y) {
  if (!w.quantized()) return matmul(w, x, tokens, y);
  const int64_t groups = w.groups_per_row();
  std::vector<int8_t> xq(w.cols);
  std::vector<float> d(groups);
  std::vector<uint8_t> buffer;
  for (int64_t t = 0; t < tokens; ++t) {
    const float* xt = x + t * w.cols;
    quantize_activations_q8(xt, w.cols, w.group_size, xq.data(), d.data());
    for (int64_t n = 0; n < w.rows; ++n) {
      const uint8_t* row = packed_row(w, n, buffer);
      double acc = 0.0;
      for (int64_t g = 0; g < groups; ++g) {
        int64_t dot = 0;
        double sum_x = 0.0;
        for (int64_t k = g * w.group_size; k < (g + 1) * w.group_size; ++k) {
          dot += static_cast<int64_t>(unpack_code(row, w.bits, k)) * xq[k];
          sum_x += xt[k];
        }
        const double s = load_float(w.scales, w.dtype, w.param_index(n, g));
        const double b = load_float(w.biases, w.dtype, w.param_index(n, g));
        acc += s * d[g] * static_cast<double>(dot) + b * sum_x;
      }
      y[t * w.rows + n] = static_cast<float>(acc);
    }
  }
}

}  // namespace tf::reference
