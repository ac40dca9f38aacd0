// Reference attention (scalar) and the conversions of cached rows (declared in ops_attention.h).
#include "kernels/ops_attention.h"

#include <cmath>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "kernels/ops.h"
#include "storage/dtype.h"

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

void store_kv_row(KVType type, const float* src, int64_t n, void* dst) {
  switch (type) {
    case KVType::F32:
      std::memcpy(dst, src, static_cast<size_t>(n) * 4);
      return;
    case KVType::F16: {
      auto* d = static_cast<uint16_t*>(dst);
      for (int64_t i = 0; i < n; ++i) d[i] = f32_to_f16(src[i]);
      return;
    }
    case KVType::BF16: {
      auto* d = static_cast<uint16_t*>(dst);
      for (int64_t i = 0; i < n; ++i) d[i] = f32_to_bf16(src[i]);
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
      for (int64_t i = 0; i < n; ++i) dst[i] = f16_to_f32(s[i]);
      return;
    }
    case KVType::BF16: {
      const auto* s = static_cast<const uint16_t*>(src);
      for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(s[i]);
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
