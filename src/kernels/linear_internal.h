// Internal interface between linear.cpp (argument checks, threading) and the per-target SIMD
// translation units (linear_simd.cpp: quantized weights × float activations; linear_dense.cpp:
// dense weights; linear_q8.cpp + linear_q8_vnni-inl.h: quantized weights × int8 activations).
// Each function here runs the best target Highway found on this CPU; a call sequence
// (prepare, then rows) always runs one target, so the layouts they share agree.
#pragma once

#include <cstdint>
#include <type_traits>

#include "kernels/weight_matrix.h"

namespace tf::simd {

// f(std::integral_constant<int, bits>{}) for an MLX affine bit width (2, 3, 4, 5, 6, 8; checked
// by validate_weight_matrix before any kernel runs): the one switch from a matrix's width to
// the kernels templated on it.
template <class F>
decltype(auto) with_affine_bits(int bits, F&& f) {
  switch (bits) {
    case 2: return f(std::integral_constant<int, 2>{});
    case 3: return f(std::integral_constant<int, 3>{});
    case 4: return f(std::integral_constant<int, 4>{});
    case 5: return f(std::integral_constant<int, 5>{});
    case 6: return f(std::integral_constant<int, 6>{});
    default: return f(std::integral_constant<int, 8>{});
  }
}

// ---- float activations (linear_simd.cpp, linear_dense.cpp) -----------------------------------
// A quantized row is consumed a "block" at a time: one vector of u32 lanes, each lane holding
// `codes_per_lane` consecutive codes; plane m of the block is code m of every lane. The input
// is stored permuted to match (block_codes(bits) floats per block, zero padded to a whole
// number of blocks), so every plane meets its activations in one contiguous vector load.

// Codes per block for this bit width on the running target (a multiple of 32 or a divisor of
// it... always a power of two).
int64_t block_codes(int bits);

// Permutes `tokens` rows of x [tokens, cols] into the block order for `bits` (and interleaves
// the tokens of each tile the kernels process together) into xp: tokens · padded_cols floats,
// padded_cols a multiple of block_codes(bits), zeros past cols.
void permute_input(int bits, const float* x, int64_t tokens, int64_t cols, int64_t padded_cols,
                   float* xp);

// out[t * groups + g] = Σ_{k in group g} x[t, k] (float; group_size a multiple of 32).
void group_sums(const float* x, int64_t tokens, int64_t cols, int group_size, float* out);

// y[t * y_stride + n] for rows n in [row_begin, row_end) and t < tokens.
// xp: permuted input as above; group_sums[t * groups + g] = Σ_{k in group g} x[t, k], with
// at least 64 readable floats after the last one.
void affine_rows(const WeightMatrix& w, const float* xp, int64_t padded_cols,
                 const float* group_sums, int64_t tokens, int64_t row_begin, int64_t row_end,
                 float* y, int64_t y_stride);

// Dense (F32 / F16 / BF16) rows: x [tokens, cols] as given (any alignment).
void dense_rows(const WeightMatrix& w, const float* x, int64_t tokens, int64_t row_begin,
                int64_t row_end, float* y, int64_t y_stride);

// ---- int8 activations (linear_q8.cpp) --------------------------------------------------------
// x is rounded per group to int8: x ≈ d_g · xq with d_g = max|x_g| / 127, and
// y_n = Σ_g s_g · d_g · Σ_k q_k · xq_k + β_g · Σ_k x_k (exact float group sums for the bias).
struct Q8Input {
  int64_t tokens = 0;
  int64_t cols = 0;
  int64_t padded_cols = 0;       // row stride of `values` (bytes)
  int64_t groups = 0;            // per token
  // [tokens, padded_cols] bytes in the layout of the running target (tokens may be interleaved
  // in tiles and codes reordered), written by q8_quantize_input.
  const int8_t* values = nullptr;
  const float* deltas = nullptr;        // [tokens, groups]  d_g
  const float* group_sums = nullptr;    // [tokens, groups]  Σ x over the group
};

// Whether the Int8 path beats F32 on the running target (VNNI or the 256-bit kernels).
bool q8_fast();
// Whether the running target is AVX3_DL on a CPU with AVX-512 VNNI + VBMI (the 512-bit row
// kernels, and the batched tile kernels beside them).
bool q8_vnni512();
const char* q8_kernel_name();  // int8_kernel_name()
const char* float_target();

// Bytes of quantized input per token for this matrix on the running target.
int64_t q8_padded_cols(int bits, int64_t cols);
// Quantizes x into `values` / `deltas` (sizes from q8_padded_cols and cols / group_size).
// `row`: scratch of q8_quantize_row_scratch(padded_cols) bytes (the caller keeps it, so a warm
// decode step allocates nothing).
void q8_quantize_input(int bits, int group_size, const float* x, int64_t tokens, int64_t cols,
                       int64_t padded_cols, int8_t* values, float* deltas, int8_t* row);
inline int64_t q8_quantize_row_scratch(int64_t padded_cols) { return padded_cols + 256; }
void q8_affine_rows(const WeightMatrix& w, const Q8Input& in, int64_t row_begin, int64_t row_end,
                    float* y, int64_t y_stride);

// ---- int8 activations, 32-code block order (linear_q8_block_order.cpp) -------------------
// The 256-bit x86 and the NEON row kernels read each token's bytes reordered per block of 32
// codes to match the order their unpacking yields the codes in; this puts them in that order.
void q8_arrange_blocks32(int bits, int8_t* row, int64_t padded_cols);

// ---- int8 activations, 256-bit x86 (linear_q8_avx2.cpp) ----------------------------------
// The row kernels of the Highway targets AVX2 and AVX3 (AVX-512 without VBMI): the same
// Q8Input, each token's bytes in the 32-code block order.
enum class Q8Dot256 : uint8_t {
  Maddubs,     // AVX2: vpmaddubsw + vpmaddwd
  AvxVnni,     // AVX-VNNI: VEX vpdpbusd
  Avx512Vnni,  // AVX-512 VNNI + VL: EVEX vpdpbusd on ymm registers
};
bool q8_dot256_supported(Q8Dot256 dot);
// The Q8Dot256 the running target's row kernels use, or -1 where they are not 256-bit x86
// (the 512-bit VNNI kernels, ARM, the portable loop).
int q8_dot256();
void q8_avx2_rows(Q8Dot256 dot, const WeightMatrix& w, const Q8Input& in, int64_t row_begin,
                  int64_t row_end, float* y, int64_t y_stride);
// n ≤ 8 packed rows from `first`, row_bytes apart (the others zeros), in the 256-bit tile
// layout: cols / 4 vectors of 8 dwords, dword r of vector j = codes 4j … 4j + 3 of row r in the
// 32-code block order. Prefetches the 8 rows after them.
void q8_avx2_unpack_rows8(int bits, const uint8_t* first, size_t row_bytes, int n, int64_t cols,
                          int32_t* quads);
// count scales or biases of dtype dt as float (the row kernels' conversion).
void q8_avx2_to_float(const uint8_t* src, DType dt, int64_t count, float* dst);

// ---- int8 activations, 128-bit ARM (linear_q8_neon.cpp) -----------------------------------
// The row kernels of the NEON target: the same Q8Input, each token's bytes in the 32-code
// block order.
enum class Q8Dot128 : uint8_t {
  Widening,  // every ARMv8: smull + sadalp
  DotProd,   // FEAT_DotProd: sdot
};
bool q8_dot128_supported(Q8Dot128 dot);
void q8_neon_rows(Q8Dot128 dot, const WeightMatrix& w, const Q8Input& in, int64_t row_begin,
                  int64_t row_end, float* y, int64_t y_stride);

// ---- int8 activations, batches of tokens (linear_q8_tiles.cpp) -------------------------------
// Same math as the Int8 row kernels, with 16 rows per vector (AVX-512 VNNI), or 4 rows per
// vector (ARM sdot) or 2 × 2 rows × tokens (ARM i8mm; linear_q8_tiles_neon.cpp). The input is
// rounded exactly as reference::quantize_activations_q8, one row per token, in natural order
// for every bit width but 2 on x86 (whose kernel reads the codes in planes order: each 16
// bytes 4 × 4-transposed), so an input serves the matrices of the bit width it was quantized for.
struct Q8TileInput {
  int64_t tokens = 0;
  int64_t stride = 0;                 // bytes per token row of `values` (q8_tiles_stride)
  const int8_t* values = nullptr;     // [tokens][stride], zeros past cols
  const float* deltas = nullptr;      // [tokens][groups]
  const float* group_sums = nullptr;  // [tokens][groups]
};
// Fewest tokens for which a tile kernel beats the row kernels. The 512-bit tile kernel repacks
// every 16-row block (on its own about 2.5 one-token row passes) and then pays little per
// token, while the VNNI row kernels take up to 8 tokens per pass at 0.3–0.7 of a one-token pass
// each: it takes over from 12 tokens on rows longer than 512 columns, from 4 on shorter ones
// (an expert's down projection, where the row kernels' per-row setup weighs more) — measured
// with bench/q8_small_batch_bench.cpp (bench/RESULTS.md, "Small batches"). The 256-bit x86 and
// NEON tile kernels (row kernels of at most 4 tokens per pass there) keep 4.
inline constexpr int64_t kQ8TileMinTokens = 4;
inline constexpr int64_t kQ8ShortRowCols = 512;
inline constexpr int64_t kQ8TileMinTokensVnniLongRows = 12;
inline int64_t q8_tiles_min_tokens(int64_t cols) {
  return q8_vnni512() && cols > kQ8ShortRowCols ? kQ8TileMinTokensVnniLongRows : kQ8TileMinTokens;
}
bool q8_tiles_fast();
int64_t q8_tiles_stride(int64_t cols);
void q8_tiles_quantize(int bits, const float* x, int64_t tokens, int64_t cols, int group_size,
                       int8_t* values, float* deltas);
void q8_tiles_rows(const WeightMatrix& w, const Q8TileInput& in, int64_t row_begin,
                   int64_t row_end, float* y, int64_t y_stride);

// ---- int8 activations on 2- and 3-bit rows interleaved in blocks of 16 (linear_q8_rows16.cpp)
// The tile kernel's layout made once (at load) instead of per call: a permutation of the packed
// codes, scales and biases, each the size of the MLX original (WeightMatrix::Layout::Rows16).
// matmul runs it for such matrices at every token count (bench/q8_small_batch_bench.cpp,
// "Rows16"). Input: q8_tiles_quantize(2, …) (the planes order).
bool q8_rows16_layout_fits(const WeightMatrix& w);  // 2/3-bit, rows % 16 == 0, cols % 256 == 0
bool q8_rows16_supported();  // AVX-512 VNNI + VBMI + GFNI, BMI2; the AVX3_DL target
// codes / scales / biases: as many bytes as w's (w in MLX's layout). Throws
// std::invalid_argument where it does not fit.
void q8_rows16_interleave(const WeightMatrix& w, uint8_t* codes, uint8_t* scales, uint8_t* biases);
// `w` views interleaved bytes (w's shape, dtype and group); rows [row_begin, row_end) in whole
// blocks of 16.
void q8_rows16_rows(const WeightMatrix& w, const Q8TileInput& in, int64_t row_begin,
                    int64_t row_end, float* y, int64_t y_stride);

// ---- int8 activations on 2- and 3-bit rows interleaved in blocks of 8 (linear_q8_rows8.cpp) --
// The 256-bit x86 counterpart of the above (AVX2, AVX-VNNI, AVX-512 without VBMI), made at load
// where the running target has a 256-bit row kernel (q8_dot256() ≥ 0): its own permutation of
// the MLX bytes, the same size (WeightMatrix::Layout::Rows8). Input: q8_rows8_quantize (the
// planes order, as q8_tiles_quantize(2, …) gives on AVX-512).
bool q8_rows8_layout_fits(const WeightMatrix& w);  // 2/3-bit, rows % 8 == 0, cols % 32 == 0
bool q8_rows8_supported();
// codes / scales / biases: as many bytes as w's (w in MLX's layout). Throws
// std::invalid_argument where it does not fit.
void q8_rows8_interleave(const WeightMatrix& w, uint8_t* codes, uint8_t* scales, uint8_t* biases);
void q8_rows8_quantize(const float* x, int64_t tokens, int64_t cols, int group_size, int8_t* values,
                       float* deltas);
// `w` views interleaved bytes; rows [row_begin, row_end) in whole blocks of 8. Up to 4 tokens
// read the codes in place; more are unpacked once per block for the tile kernel.
void q8_rows8_rows(Q8Dot256 dot, const WeightMatrix& w, const Q8TileInput& in, int64_t row_begin,
                   int64_t row_end, float* y, int64_t y_stride);
// Block blk (rows 8·blk …) of an interleaved `w` in the 256-bit tile layout (cols / 4 vectors of
// 8 dwords, quad q = activation bytes 4q … 4q + 3 in planes order).
void q8_rows8_unpack_block(const WeightMatrix& w, int64_t blk, int32_t* quads);

// ---- which interleaved layout (interleaved_layout.cpp) ---------------------------------------
// Rows16 where the 16-row kernel runs, Rows8 where the 8-row one does, else Rows (none).
WeightMatrix::Layout q8_interleaved_layout();
bool q8_interleaved_fits(WeightMatrix::Layout layout, const WeightMatrix& w);
void q8_interleave(WeightMatrix::Layout layout, const WeightMatrix& w, uint8_t* codes, uint8_t* scales,
                   uint8_t* biases);
// The scales and biases of w (MLX layout) interleaved in blocks of n rows: per block, per group,
// the n rows' values side by side (both layouts' parameters).
void q8_interleave_params(const WeightMatrix& w, int64_t n, uint8_t* scales, uint8_t* biases);
// The codes of block b (rows n·b …) of w (MLX layout) placed code by code where
// WeightMatrix::interleaved_place puts them: the definition the fast interleaves are tested
// against, and their fallback.
void q8_interleave_codes_scalar(const WeightMatrix& w, int64_t n, int64_t b, uint8_t* codes);

// ---- int8 activations, batches of tokens on 128-bit ARM (linear_q8_tiles_neon.cpp) --------
// What q8_tiles_* run on ARM: each token's bytes in natural order for every bit width.
enum class Q8Tile128 : uint8_t {
  DotProd,  // FEAT_DotProd: sdot by element, 4 rows × 4 codes
  I8mm,     // FEAT_I8MM: usmmla, 2 rows × 2 tokens × 8 codes
};
bool q8_tile128_supported(Q8Tile128 kind);
void q8_neon_tiles_quantize(const float* x, int64_t tokens, int64_t cols, int group_size,
                            int64_t stride, int8_t* values, float* deltas);
void q8_neon_tiles_rows(Q8Tile128 kind, const WeightMatrix& w, const Q8TileInput& in,
                        int64_t row_begin, int64_t row_end, float* y, int64_t y_stride);

// ---- int8 activations, batches of tokens on 256-bit x86 (linear_q8_tiles_avx2.cpp) ---------
// What q8_tiles_* run where the running target has a 256-bit row kernel (q8_dot256() ≥ 0), with
// that kernel's byte dot product: each token's bytes in the 32-code block order
// (q8_arrange_blocks32), as the 256-bit row kernels read them.
void q8_avx2_tiles_quantize(int bits, const float* x, int64_t tokens, int64_t cols,
                            int group_size, int64_t stride, int8_t* values, float* deltas);
void q8_avx2_tiles_rows(Q8Dot256 dot, const WeightMatrix& w, const Q8TileInput& in,
                        int64_t row_begin, int64_t row_end, float* y, int64_t y_stride);

}  // namespace tf::simd
