// Reference attention (scalar) and the conversions of cached rows (declared in ops_attention.h).
#include "kernels/ops_attention.h"

#include <cmath>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "kernels/kv_quant.h"
#include "kernels/ops.h"
#include "storage/dtype.h"

namespace tf {

KVType kv_type_for_bits(int bits) {
  switch (bits) {
    case 32: return KVType::F32;
    case 16: return KVType::F16;
    case 8: return KVType::Q8;
    case 4: return KVType::Q4;
    case 2: return KVType::Q2;
  }
  throw std::invalid_argument("KV cache bits must be 32, 16, 8, 4 or 2, not " +
                              std::to_string(bits));
}

int kv_quant_bits(KVType type) {
  switch (type) {
    case KVType::Q8: return 8;
    case KVType::Q4: return 4;
    case KVType::Q2: return 2;
    default: return 0;
  }
}

size_t kv_type_bytes(KVType type) {
  switch (type) {
    case KVType::F32: return 4;
    case KVType::F16:
    case KVType::BF16: return 2;
    default: throw std::logic_error("kv_type_bytes: quantized KV rows have no element size");
  }
}

size_t kv_row_bytes(KVType type, int64_t n, int group_size) {
  const int bits = kv_quant_bits(type);
  if (bits != 0) return kv_quant_row_bytes(bits, n, group_size);
  return static_cast<size_t>(n) * kv_type_bytes(type);
}

void validate_kv_row(KVType type, int64_t n, int group_size) {
  const int bits = kv_quant_bits(type);
  if (bits == 0 || kv_quant_row_valid(bits, n, group_size)) return;
  throw std::invalid_argument("a " + std::string(kv_type_name(type)) +
                              " KV cache needs a group size of 32, 64 or 128 that divides the "
                              "head size " + std::to_string(n) + " (got " +
                              std::to_string(group_size) + ")");
}

const char* kv_type_name(KVType type) {
  switch (type) {
    case KVType::F32: return "f32";
    case KVType::F16: return "f16";
    case KVType::BF16: return "bf16";
    case KVType::Q8: return "q8";
    case KVType::Q4: return "q4";
    case KVType::Q2: return "q2";
  }
  return "?";
}

KVType parse_kv_type(const std::string& name) {
  for (KVType t : {KVType::F32, KVType::F16, KVType::BF16, KVType::Q8, KVType::Q4, KVType::Q2})
    if (name == kv_type_name(t)) return t;
  throw std::invalid_argument("unknown KV cache type '" + name +
                              "' (use f16, bf16, f32, q8, q4 or q2)");
}

void store_kv_row(KVType type, const float* src, int64_t n, void* dst, int group_size) {
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
    default:
      quantize_kv_row(kv_quant_bits(type), group_size, src, n, static_cast<uint8_t*>(dst));
      return;
  }
}

void load_kv_row(KVType type, const void* src, int64_t n, float* dst, int group_size) {
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
    default:
      dequantize_kv_row(kv_quant_bits(type), group_size, static_cast<const uint8_t*>(src), n, dst);
      return;
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
  std::vector<float> keys(static_cast<size_t>(count * kv.stride)), values(keys.size()),
      scores(count);
  for (int64_t p = 0; p < count; ++p) {
    const size_t off = static_cast<size_t>(p) * kv.row_bytes();
    load_kv_row(kv.type, static_cast<const uint8_t*>(kv.keys) + off, kv.stride,
                keys.data() + p * kv.stride, kv.group_size);
    load_kv_row(kv.type, static_cast<const uint8_t*>(kv.values) + off, kv.stride,
                values.data() + p * kv.stride, kv.group_size);
  }
  for (int h = 0; h < heads; ++h)
    attend(q + h * dim, keys.data(), values.data(), count, kv.stride, dim, scale, scores.data(),
           out + h * dim);
}

void attend_reference_int8_query(const float* q, int heads, const KVRows& kv, int64_t count,
                                 int dim, float scale, float* out, bool int16_values) {
  const int bits = kv_quant_bits(kv.type), group = kv.group_size, groups = dim / group;
  std::vector<int8_t> qi(static_cast<size_t>(dim));
  std::vector<float> d(static_cast<size_t>(groups)), sum(d.size()), scores(count), values;
  if (!int16_values) {
    values.resize(static_cast<size_t>(count * kv.stride));
    for (int64_t p = 0; p < count; ++p)
      load_kv_row(kv.type, static_cast<const uint8_t*>(kv.values) + p * kv.row_bytes(),
                  kv.stride, values.data() + p * kv.stride, group);
  }
  for (int h = 0; h < heads; ++h) {
    for (int g = 0; g < groups; ++g)
      quantize_query_group(q + h * dim + g * group, group, qi.data() + g * group, &d[g], &sum[g]);
    for (int64_t p = 0; p < count; ++p)
      scores[p] = scale * int8_query_key_dot(bits, group, qi.data(), d.data(), sum.data(),
                                             static_cast<const uint8_t*>(kv.keys) +
                                                 p * kv.row_bytes(),
                                             kv.stride, dim);
    softmax_inplace(scores.data(), count);
    float* o = out + h * dim;
    for (int i = 0; i < dim; ++i) o[i] = 0.0f;
    if (!int16_values) {
      for (int64_t p = 0; p < count; ++p) axpy(scores[p], values.data() + p * kv.stride, o, dim);
      continue;
    }
    // Values with int16 weights per block of kAttendBlockRows rows (int16_weighted_values, as the kernels).
    std::vector<const uint8_t*> block;
    for (int64_t p0 = 0; p0 < count; p0 += kAttendBlockRows) {
      block.clear();
      for (int64_t p = p0; p < std::min(count, p0 + kAttendBlockRows); ++p)
        block.push_back(static_cast<const uint8_t*>(kv.values) + p * kv.row_bytes());
      int16_weighted_values(bits, group, scores.data() + p0, block.data(),
                            static_cast<int>(block.size()), kv.stride, dim, o);
    }
  }
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
