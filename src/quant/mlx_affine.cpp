// MLX affine quantization, restated from spec §5.1–5.3 (MLX's `affine_quantize` CPU kernel and
// its Metal twin). Byte-identical output needs the same float operations in the same order:
// min/max in fp32, s = max(range/n, ε) with the sign rule, q₀ = round(edge/s), s ← edge/q₀,
// q = clamp(round((w − β)/s), 0, n) — a true division, never a multiply by 1/s.
#include "quant/mlx_affine.h"

#include "kernels/weight_matrix.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

namespace tf {

namespace {

constexpr float kEpsilon = 1e-7f;  // §5.1: the smallest |s| a group may get

// Round half to even for 0 <= v <= 2^22 under the default rounding mode: adding 1.5·2^23
// pushes the fraction bits out of the mantissa. Bit-identical to std::rint there, and cheap
// (this file must not be built with -ffast-math, which would fold (v + m) − m to v).
inline float round_half_even_small(float v) {
  constexpr float kMagic = 12582912.0f;
  return (v + kMagic) - kMagic;
}

inline float round_mode(float v, AffineRounding r) {
  return r == AffineRounding::HalfEven ? std::nearbyint(v) : std::round(v);
}

struct GroupParams {
  float scale;
  float bias;
};

GroupParams group_params(const float* w, int g, int bits, AffineRounding rounding) {
  const float n_bins = static_cast<float>((1 << bits) - 1);
  float w_min = std::numeric_limits<float>::infinity();
  // The Metal kernel starts its max reduction at 0 (§5.1); the CPU kernel at −∞.
  float w_max = rounding == AffineRounding::HalfAway ? 0.0f : -w_min;
  for (int j = 0; j < g; ++j) {
    w_max = std::max(w_max, w[j]);
    w_min = std::min(w_min, w[j]);
  }
  const bool edge_is_min = std::fabs(w_min) > std::fabs(w_max);
  float scale = std::max((w_max - w_min) / n_bins, kEpsilon);
  if (!edge_is_min) scale = -scale;  // negative scales are normal in MLX files
  const float edge = edge_is_min ? w_min : w_max;
  const float q0 = round_mode(edge / scale, rounding);
  float bias = 0.0f;
  if (q0 != 0.0f) {
    scale = edge / q0;  // makes q = −q₀ decode to 0 (before the scale dtype's rounding)
    bias = edge;
  }
  return {scale, bias};
}

void check_finite_row(const float* w, int64_t cols, int64_t row) {
  for (int64_t k = 0; k < cols; ++k)
    if (!std::isfinite(w[k]))
      throw std::invalid_argument("affine_quantize: weight at row " + std::to_string(row) +
                                  ", column " + std::to_string(k) +
                                  " is not finite; MLX quantization needs finite weights");
}

}  // namespace

void validate_affine_spec(const AffineQuantSpec& spec, int64_t cols) {
  const int b = spec.bits;
  if (b != 2 && b != 3 && b != 4 && b != 5 && b != 6 && b != 8)
    throw std::invalid_argument("affine quantization: bits must be 2, 3, 4, 5, 6 or 8 (got " +
                                std::to_string(b) + ")");
  const int g = spec.group_size;
  if (g != 32 && g != 64 && g != 128)
    throw std::invalid_argument("affine quantization: group size must be 32, 64 or 128 (got " +
                                std::to_string(g) + ")");
  if (!is_float_dtype(spec.scale_dtype))
    throw std::invalid_argument("affine quantization: scales must be BF16, F16 or F32 (got " +
                                std::string(dtype_name(spec.scale_dtype)) + ")");
  if (cols <= 0 || cols % g != 0)
    throw std::invalid_argument("affine quantization: the input dimension " + std::to_string(cols) +
                                " is not a positive multiple of the group size " +
                                std::to_string(g) + "; keep this tensor dense");
}

size_t affine_row_bytes(int bits, int64_t cols) {
  return static_cast<size_t>(cols) * static_cast<size_t>(bits) / 8;
}

void pack_codes(const uint8_t* codes, int64_t count, int bits, uint8_t* out) {
  uint64_t acc = 0;
  int filled = 0;
  for (int64_t k = 0; k < count; ++k) {
    acc |= static_cast<uint64_t>(codes[k]) << filled;
    filled += bits;
    while (filled >= 8) {
      *out++ = static_cast<uint8_t>(acc);
      acc >>= 8;
      filled -= 8;
    }
  }
  if (filled > 0) *out = static_cast<uint8_t>(acc);
}

void unpack_codes(const uint8_t* packed, int64_t count, int bits, uint8_t* codes) {
  unpack_code_bytes(packed, bits, count, codes);
}

void affine_quantize_rows(const float* w, int64_t rows, int64_t cols, const AffineQuantSpec& spec,
                          uint8_t* packed, uint8_t* scales, uint8_t* biases) {
  validate_affine_spec(spec, cols);
  const int g = spec.group_size;
  const int64_t groups = cols / g;
  const size_t row_bytes = affine_row_bytes(spec.bits, cols);
  const float n_bins = static_cast<float>((1 << spec.bits) - 1);
  std::vector<uint8_t> codes(cols);
  for (int64_t r = 0; r < rows; ++r) {
    const float* wr = w + r * cols;
    check_finite_row(wr, cols, r);
    for (int64_t gi = 0; gi < groups; ++gi) {
      const float* wg = wr + gi * g;
      const GroupParams p = group_params(wg, g, spec.bits, spec.rounding);
      uint8_t* cg = codes.data() + gi * g;
      for (int j = 0; j < g; ++j) {
        // clamp-then-round equals MLX's round-then-clamp (the bounds are integers)
        const float u = std::clamp((wg[j] - p.bias) / p.scale, 0.0f, n_bins);
        const float q = spec.rounding == AffineRounding::HalfEven ? round_half_even_small(u)
                                                                  : std::round(u);
        cg[j] = static_cast<uint8_t>(q);
      }
      const size_t at = static_cast<size_t>(r * groups + gi);
      store_float(scales, spec.scale_dtype, at, p.scale);
      store_float(biases, spec.scale_dtype, at, p.bias);
      if (!std::isfinite(load_float(scales, spec.scale_dtype, at)) ||
          !std::isfinite(load_float(biases, spec.scale_dtype, at)))
        throw std::invalid_argument("affine_quantize: row " + std::to_string(r) + ", group " +
                                    std::to_string(gi) + ": scale or bias overflows " +
                                    std::string(dtype_name(spec.scale_dtype)) +
                                    "; use BF16 scales for this tensor");
    }
    pack_codes(codes.data(), cols, spec.bits, packed + r * row_bytes);
  }
}

void affine_dequantize_rows(const uint8_t* packed, const uint8_t* scales, const uint8_t* biases,
                            int64_t rows, int64_t cols, int bits, int group_size, DType scale_dtype,
                            float* out) {
  validate_affine_spec({bits, group_size, scale_dtype, AffineRounding::HalfEven}, cols);
  const int64_t groups = cols / group_size;
  const size_t row_bytes = affine_row_bytes(bits, cols);
  std::vector<uint8_t> codes(cols);
  for (int64_t r = 0; r < rows; ++r) {
    unpack_codes(packed + r * row_bytes, cols, bits, codes.data());
    float* o = out + r * cols;
    for (int64_t gi = 0; gi < groups; ++gi) {
      const size_t at = static_cast<size_t>(r * groups + gi);
      const float s = load_float(scales, scale_dtype, at);
      const float b = load_float(biases, scale_dtype, at);
      for (int64_t k = gi * group_size; k < (gi + 1) * group_size; ++k)
        o[k] = s * static_cast<float>(codes[k]) + b;
    }
  }
}

WeightMatrix AffineTensors::view() const {
  WeightMatrix w;
  w.format = WeightMatrix::Format::Affine;
  w.dtype = spec.scale_dtype;
  w.bits = spec.bits;
  w.group_size = spec.group_size;
  w.rows = rows;
  w.cols = cols;
  w.data = weight.data();
  w.scales = scales.data();
  w.biases = biases.data();
  return w;
}

AffineTensors affine_quantize(const float* w, int64_t rows, int64_t cols,
                              const AffineQuantSpec& spec) {
  validate_affine_spec(spec, cols);
  AffineTensors t;
  t.rows = rows;
  t.cols = cols;
  t.spec = spec;
  const size_t groups = static_cast<size_t>(rows) * static_cast<size_t>(cols / spec.group_size);
  t.weight.resize(affine_row_bytes(spec.bits, cols) * static_cast<size_t>(rows));
  t.scales.resize(groups * dtype_size(spec.scale_dtype));
  t.biases.resize(groups * dtype_size(spec.scale_dtype));
  affine_quantize_rows(w, rows, cols, spec, t.weight.data(), t.scales.data(), t.biases.data());
  return t;
}

}  // namespace tf
