// Affine per-group quantization of KV rows (kernels/kv_quant.h).
#include "kernels/kv_quant.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "storage/dtype.h"

namespace tf {
namespace {

// Code e of a group whose codes start at `codes` (this header's plane layout: byte e mod P,
// bits b·(e div P)).
int code_at(const uint8_t* codes, int bits, int plane, int e) {
  return (codes[e % plane] >> (bits * (e / plane))) & ((1 << bits) - 1);
}

uint32_t float_bits(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  return b;
}

// bf16 at or below x (x finite): truncation rounds toward zero, so a negative x with dropped
// bits steps one unit away from zero.
uint16_t bf16_at_or_below(float x) {
  const uint32_t b = float_bits(x);
  const auto h = static_cast<uint16_t>(b >> 16);
  return (b & 0xffffu) != 0 && x < 0.0f ? static_cast<uint16_t>(h + 1) : h;
}
// bf16 at or above x ≥ 0 (finite).
uint16_t bf16_at_or_above(float x) {
  const uint32_t b = float_bits(x);
  const auto h = static_cast<uint16_t>(b >> 16);
  return (b & 0xffffu) != 0 ? static_cast<uint16_t>(h + 1) : h;
}

}  // namespace

size_t kv_quant_row_bytes(int bits, int64_t n, int group) {
  return static_cast<size_t>(n) * bits / 8 + 2 * 2 * static_cast<size_t>(n / group);
}

bool kv_quant_row_valid(int bits, int64_t n, int group) {
  return (bits == 8 || bits == 4 || bits == 2) && (group == 32 || group == 64 || group == 128) &&
         n > 0 && n % group == 0;
}

void quantize_kv_row(int bits, int group, const float* src, int64_t n, uint8_t* dst) {
  const int64_t groups = n / group;
  const int plane = group * bits / 8;
  const int levels = (1 << bits) - 1;
  uint8_t* codes = dst;
  auto* scales = reinterpret_cast<uint16_t*>(dst + static_cast<size_t>(n) * bits / 8);
  uint16_t* biases = scales + groups;
  std::memset(codes, 0, static_cast<size_t>(n) * bits / 8);
  for (int64_t g = 0; g < groups; ++g) {
    const float* x = src + g * group;
    float lo = x[0], hi = x[0];
    bool finite = true;
    for (int e = 0; e < group; ++e) {
      finite = finite && std::isfinite(x[e]);
      lo = std::min(lo, x[e]);
      hi = std::max(hi, x[e]);
    }
    uint16_t scale_bits = 0x7fc0, bias_bits = 0x7fc0;  // NaN
    if (finite) {
      bias_bits = bf16_at_or_below(lo);
      const float bias = bf16_to_f32(bias_bits);
      scale_bits = bf16_at_or_above((hi - bias) / static_cast<float>(levels));
      const float scale = bf16_to_f32(scale_bits);
      const float inv = scale > 0.0f ? 1.0f / scale : 0.0f;
      uint8_t* gc = codes + g * plane;
      for (int e = 0; e < group; ++e) {
        const float q = std::nearbyint((x[e] - bias) * inv);
        const int code = static_cast<int>(std::clamp(q, 0.0f, static_cast<float>(levels)));
        gc[e % plane] |= static_cast<uint8_t>(code << (bits * (e / plane)));
      }
    }
    scales[g] = scale_bits;
    biases[g] = bias_bits;
  }
}

void dequantize_kv_row(int bits, int group, const uint8_t* src, int64_t n, float* dst) {
  const int64_t groups = n / group;
  const int plane = group * bits / 8;
  const auto* scales = reinterpret_cast<const uint16_t*>(src + static_cast<size_t>(n) * bits / 8);
  const uint16_t* biases = scales + groups;
  for (int64_t g = 0; g < groups; ++g) {
    const float s = bf16_to_f32(scales[g]), b = bf16_to_f32(biases[g]);
    const uint8_t* gc = src + g * plane;
    for (int e = 0; e < group; ++e)
      dst[g * group + e] = std::fma(static_cast<float>(code_at(gc, bits, plane, e)), s, b);
  }
}

void quantize_query_group(const float* q, int n, int8_t* qi, float* d, float* sum) {
  float m = 0.0f, total = 0.0f;
  for (int e = 0; e < n; ++e) {
    m = std::max(m, std::fabs(q[e]));
    total += q[e];
  }
  const float inv = m > 0.0f ? 127.0f / m : 0.0f;
  for (int e = 0; e < n; ++e) {
    // A NaN element (its sum carries it into the scores) must not reach the int8 cast.
    const float r = std::nearbyint(q[e] * inv);
    qi[e] = std::isnan(r) ? int8_t{0} : static_cast<int8_t>(std::clamp(r, -127.0f, 127.0f));
  }
  *d = m / 127.0f;
  *sum = total;
}

float int8_query_key_dot(int bits, int group, const int8_t* qi, const float* d, const float* sum,
                         const uint8_t* key, int64_t stride, int dim) {
  const int plane = group * bits / 8;
  const auto* scales = reinterpret_cast<const uint16_t*>(key + static_cast<size_t>(stride) * bits / 8);
  const uint16_t* biases = scales + stride / group;
  float score = 0.0f;
  for (int g = 0; g < dim / group; ++g) {
    const uint8_t* gc = key + g * plane;
    int32_t dot = 0;
    for (int e = 0; e < group; ++e)
      dot += qi[g * group + e] * code_at(gc, bits, plane, e);
    score += bf16_to_f32(scales[g]) * (d[g] * static_cast<float>(dot));
    score += bf16_to_f32(biases[g]) * sum[g];
  }
  return score;
}

void int16_weighted_values(int bits, int group, const float* w, const uint8_t* const* rows,
                           int n, int64_t stride, int dim, float* out) {
  const int plane = group * bits / 8, middle = 1 << (bits - 1);
  std::vector<float> ws(static_cast<size_t>(n));
  std::vector<int32_t> wq(ws.size());
  for (int g = 0; g < dim / group; ++g) {
    float amax = 0.0f, bias = 0.0f, sum = 0.0f;
    for (int p = 0; p < n; ++p) {
      const auto* scales = reinterpret_cast<const uint16_t*>(rows[p] + static_cast<size_t>(stride) * bits / 8);
      ws[p] = w[p] * bf16_to_f32(scales[g]);
      amax = std::max(amax, std::fabs(ws[p]));
      bias = std::fma(w[p], bf16_to_f32(scales[stride / group + g]), bias);
      sum += ws[p];
    }
    bias = std::fma(sum, static_cast<float>(middle), bias);
    const float d = amax * (1.0f / 32767), inv = amax > 0.0f ? 1.0f / d : 0.0f;
    for (int p = 0; p < n; ++p) wq[p] = static_cast<int32_t>(std::nearbyint(ws[p] * inv));
    for (int e = 0; e < group; ++e) {
      int32_t dot = 0;
      for (int p = 0; p < n; ++p) {
        dot += wq[p] * (code_at(rows[p] + g * plane, bits, plane, e) - middle);
      }
      float& o = out[g * group + e];
      o = std::fma(static_cast<float>(dot), d, o + bias);
    }
  }
}

}  // namespace tf
