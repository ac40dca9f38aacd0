// Reference attention (scalar) and the conversions of cached rows (declared in ops_attention.h).
#include "kernels/ops_attention.h"

#include <cmath>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "kernels/ops.h"

namespace tf {

size_t kv_type_bytes(KVType type) { return type == KVType::F32 ? 4 : 2; }

const char* kv_type_name(KVType type) {
  switch (type) {
    case KVType::F32:
      return "f32";
    case KVType::F16:
      return "f16";
    case KVType::BF16:
      return "bf16";
  }
  return "?";
}

KVType parse_kv_type(const std::string& name) {
  if (name == "f32") return KVType::F32;
  if (name == "f16") return KVType::F16;
  if (name == "bf16") return KVType::BF16;
  throw std::invalid_argument("unknown KV cache type '" + name + "' (use f16, bf16 or f32)");
}

namespace {
uint32_t bits_of(float x) {
  uint32_t b;
  std::memcpy(&b, &x, 4);
  return b;
}
float float_of(uint32_t b) {
  float x;
  std::memcpy(&x, &b, 4);
  return x;
}
}  // namespace

// IEEE binary16: 1 sign, 5 exponent (bias 15), 10 mantissa bits.
uint16_t f16_from_f32(float x) {
  const uint32_t b = bits_of(x);
  const uint32_t sign = (b >> 16) & 0x8000u, a = b & 0x7fffffffu;
  if (a >= 0x7f800000u)
    return static_cast<uint16_t>(sign | 0x7c00u | (a > 0x7f800000u ? 0x200u : 0));
  if (a >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // ≥ 65520 rounds to inf
  if (a < 0x38800000u) {
    // Below 2^-14: a subnormal half, |x| · 2^24 rounded to an integer (exact scaling, RNE).
    const float scaled = float_of(a) * 16777216.0f;
    return static_cast<uint16_t>(sign | static_cast<uint32_t>(std::nearbyint(scaled)));
  }
  // Normal: rebias the exponent (127 → 15) and round the 13 dropped bits to nearest even; a
  // carry out of the mantissa correctly bumps the exponent.
  const uint32_t rounded = a + 0xfffu + ((a >> 13) & 1u);
  return static_cast<uint16_t>(sign | ((rounded - 0x38000000u) >> 13));
}

float f32_from_f16(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
  if (e == 0) {  // zero or subnormal: m · 2^-24
    const float v = static_cast<float>(m) * (1.0f / 16777216.0f);
    return float_of(bits_of(v) | sign);
  }
  if (e == 31) return float_of(sign | 0x7f800000u | (m << 13));
  return float_of(sign | ((e + 112u) << 23) | (m << 13));
}

uint16_t bf16_from_f32(float x) {
  const uint32_t b = bits_of(x);
  if ((b & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((b >> 16) | 0x40u);  // NaN
  return static_cast<uint16_t>((b + 0x7fffu + ((b >> 16) & 1u)) >> 16);
}

float f32_from_bf16(uint16_t h) { return float_of(static_cast<uint32_t>(h) << 16); }

void store_kv_row(KVType type, const float* src, int64_t n, void* dst) {
  switch (type) {
    case KVType::F32:
      std::memcpy(dst, src, static_cast<size_t>(n) * 4);
      return;
    case KVType::F16: {
      auto* d = static_cast<uint16_t*>(dst);
      for (int64_t i = 0; i < n; ++i) d[i] = f16_from_f32(src[i]);
      return;
    }
    case KVType::BF16: {
      auto* d = static_cast<uint16_t*>(dst);
      for (int64_t i = 0; i < n; ++i) d[i] = bf16_from_f32(src[i]);
      return;
    }
  }
}

void load_kv_row(KVType type, const void* src, int64_t n, float* dst) {
  switch (type) {
    case KVType::F32:
      std::memcpy(dst, src, static_cast<size_t>(n) * 4);
      return;
    case KVType::F16: {
      const auto* s = static_cast<const uint16_t*>(src);
      for (int64_t i = 0; i < n; ++i) dst[i] = f32_from_f16(s[i]);
      return;
    }
    case KVType::BF16: {
      const auto* s = static_cast<const uint16_t*>(src);
      for (int64_t i = 0; i < n; ++i) dst[i] = f32_from_bf16(s[i]);
      return;
    }
  }
}

void attend(const float* q, const float* keys, const float* values, int64_t count, int64_t stride,
            int dim, float scale, float* scores, float* out) {
  for (int64_t p = 0; p < count; ++p) scores[p] = scale * dot(q, keys + p * stride, dim);
  softmax_inplace(scores, count);
  for (int i = 0; i < dim; ++i) out[i] = 0.0f;
  for (int64_t p = 0; p < count; ++p) axpy(scores[p], values + p * stride, out, dim);
}

void attend_reference(const float* q, int heads, const KVRows& kv, int64_t count, int dim,
                      float scale, float* out) {
  // Widen the rows into a dense float copy, then the float reference per head.
  const size_t eb = kv_type_bytes(kv.type);
  std::vector<float> keys(static_cast<size_t>(count * dim)), values(keys.size()), scores(count);
  for (int64_t p = 0; p < count; ++p) {
    const size_t off = static_cast<size_t>(p * kv.stride) * eb;
    load_kv_row(kv.type, static_cast<const uint8_t*>(kv.keys) + off, dim, keys.data() + p * dim);
    load_kv_row(kv.type, static_cast<const uint8_t*>(kv.values) + off, dim,
                values.data() + p * dim);
  }
  for (int h = 0; h < heads; ++h)
    attend(q + h * dim, keys.data(), values.data(), count, dim, dim, scale, scores.data(),
           out + h * dim);
}

void merge_attend_partials(int parts, int heads, int dim, const float* acc, const float* max,
                           const float* sum, float* out) {
  for (int h = 0; h < heads; ++h) {
    float m = -INFINITY;
    for (int i = 0; i < parts; ++i) m = std::fmax(m, max[i * heads + h]);
    float* o = out + static_cast<int64_t>(h) * dim;
    for (int j = 0; j < dim; ++j) o[j] = 0.0f;
    float total = 0.0f;
    for (int i = 0; i < parts; ++i) {
      const float mi = max[i * heads + h];
      if (mi == -INFINITY) continue;  // an empty range adds nothing
      const float f = std::exp(mi - m);
      total += f * sum[i * heads + h];
      axpy(f, acc + (static_cast<int64_t>(i) * heads + h) * dim, o, dim);
    }
    const float inv = 1.0f / total;
    for (int j = 0; j < dim; ++j) o[j] *= inv;
  }
}

}  // namespace tf
