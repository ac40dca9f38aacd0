// MLX "affine" quantization (spec §5): per row, per group of g consecutive input columns,
// codes q ∈ [0, 2^b − 1] with ŵ = s·q + β. Produces exactly the three tensors MLX writes:
//   weight  U32 [N, K·b/32]  — each row one LSB-first bitstream of b-bit codes (§5.3),
//   scales  [N, K/g] and biases [N, K/g] in BF16 or F16 (the checkpoint's float dtype).
// Everything is row-major and row-independent, so a converter can quantize a huge tensor a slab
// of rows at a time into its own output buffers (affine_quantize_rows).
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/weight_matrix.h"
#include "storage/dtype.h"

namespace tf {

// How q₀ and the codes are rounded (§5.1). The two MLX implementations differ:
//  - HalfEven: MLX's CPU kernel (std::rint, round half to even) — what this library does by
//    default.
//  - HalfAway: MLX's Metal kernel (what conversions on Apple GPUs ran): round half away from
//    zero, and its max reduction starts at 0 (w_max ← max(w_max, 0)).
// Loaders do not care; a converter that wants byte-identical files picks the one to match.
enum class AffineRounding : uint8_t { HalfEven, HalfAway };

struct AffineQuantSpec {
  int bits = 4;         // 2, 3, 4, 5, 6 or 8
  int group_size = 64;  // 32, 64 or 128
  DType scale_dtype = DType::BF16;  // BF16, F16 (F32 also accepted: handy for exact tests)
  AffineRounding rounding = AffineRounding::HalfEven;
};

// Throws std::invalid_argument (saying which parameter is wrong) unless bits, group size and
// scale dtype are supported and `cols` is a positive multiple of the group size.
void validate_affine_spec(const AffineQuantSpec& spec, int64_t cols);

// Bytes of one packed row (K·b/8; a whole number of U32 words since K is a multiple of 32).
size_t affine_row_bytes(int bits, int64_t cols);

// Packs `count` b-bit codes (each < 2^b) into an LSB-first bitstream: code k occupies bits
// [k·b, (k+1)·b) of out (§5.3). count·b must be a multiple of 8; out gets count·b/8 bytes.
void pack_codes(const uint8_t* codes, int64_t count, int bits, uint8_t* out);
// The inverse: reads `count` codes of `bits` bits from an LSB-first bitstream.
void unpack_codes(const uint8_t* packed, int64_t count, int bits, uint8_t* codes);

// Quantizes rows × cols floats (row-major, contiguous) into MLX's three tensors:
// packed [rows, affine_row_bytes], scales and biases [rows, cols / group_size] in
// spec.scale_dtype. Output pointers may be unaligned. Throws std::invalid_argument for a bad
// spec, a non-finite weight, or a scale/bias that overflows F16 (naming the row and group).
void affine_quantize_rows(const float* w, int64_t rows, int64_t cols, const AffineQuantSpec& spec,
                          uint8_t* packed, uint8_t* scales, uint8_t* biases);

// ŵ = s·q + β for rows × cols values, evaluated in float from the stored (rounded) s and β.
// (MLX evaluates it in the scale dtype; float keeps the extra bits.)
void affine_dequantize_rows(const uint8_t* packed, const uint8_t* scales, const uint8_t* biases,
                            int64_t rows, int64_t cols, int bits, int group_size, DType scale_dtype,
                            float* out);

// An owning quantized matrix: the three tensors' bytes, ready to write or to bind as a
// WeightMatrix for the kernels.
struct AffineTensors {
  int64_t rows = 0;
  int64_t cols = 0;
  AffineQuantSpec spec;
  std::vector<uint8_t> weight;  // packed codes, rows × affine_row_bytes
  std::vector<uint8_t> scales;  // rows × cols/g values of spec.scale_dtype
  std::vector<uint8_t> biases;

  // A kernel view of these tensors (valid while this object lives and is not modified).
  WeightMatrix view() const;
};

AffineTensors affine_quantize(const float* w, int64_t rows, int64_t cols,
                              const AffineQuantSpec& spec);

}  // namespace tf
