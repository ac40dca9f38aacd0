// Element types of safetensors files (spec §6) and the scalar conversions every layer needs.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>

namespace tf {

enum class DType : uint8_t {
  BOOL, U8, I8, F8_E4M3, F8_E5M2, U16, I16, F16, BF16, U32, I32, F32, U64, I64, F64,
};

// Bytes per element.
size_t dtype_size(DType t);
// The safetensors spelling ("BF16", "U32", ...).
std::string_view dtype_name(DType t);
// Parses a safetensors dtype string; nullopt for unknown codes.
std::optional<DType> parse_dtype(std::string_view name);

// bf16 is the top half of an IEEE-754 binary32.
inline float bf16_to_f32(uint16_t h) {
  uint32_t bits = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

// Round to nearest even, as PyTorch / MLX do; NaN stays NaN.
inline uint16_t f32_to_bf16(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((bits >> 16) | 0x40);
  bits += 0x7fffu + ((bits >> 16) & 1u);
  return static_cast<uint16_t>(bits >> 16);
}

float f16_to_f32(uint16_t h);
// Round to nearest even with correct subnormal / overflow handling.
uint16_t f32_to_f16(float f);

// Reads element i of a float-typed buffer (F32, F16, BF16) that may be unaligned.
inline float load_float(const uint8_t* base, DType t, size_t i) {
  switch (t) {
    case DType::F32: {
      float v;
      std::memcpy(&v, base + 4 * i, 4);
      return v;
    }
    case DType::BF16: {
      uint16_t v;
      std::memcpy(&v, base + 2 * i, 2);
      return bf16_to_f32(v);
    }
    case DType::F16: {
      uint16_t v;
      std::memcpy(&v, base + 2 * i, 2);
      return f16_to_f32(v);
    }
    default:
      return 0.0f;  // callers check is_float_dtype first
  }
}

// Writes element i of a float-typed buffer (F32, F16, BF16), rounding to nearest even.
inline void store_float(uint8_t* base, DType t, size_t i, float v) {
  switch (t) {
    case DType::F32:
      std::memcpy(base + 4 * i, &v, 4);
      break;
    case DType::BF16: {
      uint16_t h = f32_to_bf16(v);
      std::memcpy(base + 2 * i, &h, 2);
      break;
    }
    case DType::F16: {
      uint16_t h = f32_to_f16(v);
      std::memcpy(base + 2 * i, &h, 2);
      break;
    }
    default:
      break;
  }
}

inline bool is_float_dtype(DType t) { return t == DType::F32 || t == DType::F16 || t == DType::BF16; }

}  // namespace tf
