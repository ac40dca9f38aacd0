// Softmax attention of query vectors over a run of cached keys / values (spec §3.5 step 4), and
// the storage types of those cached rows.
#pragma once

#include <cstdint>
#include <string>

namespace tf {

// ---------------------------------------------------------------------------------------------
// Element type of cached key / value rows. F16 halves the bytes a decode step reads at long
// context (what llama.cpp stores by default); BF16 keeps f32's range with 8 mantissa bits; F32
// is exact. Rows are converted once when appended (round to nearest even) and widened to float
// when read, so all arithmetic stays float32. Q8 / Q4 / Q2 are affine per group of
// `group_size` elements (MLX's QuantizedKVCache scheme; layout and rounding in
// kernels/kv_quant.h): a 256-wide row of Q4 with groups of 64 is 144 bytes instead of 512 (f16).
enum class KVType : uint8_t { F32, F16, BF16, Q8, Q4, Q2 };

// The KV widths the command line and the API name by bits: 32 → F32, 16 → F16, 8 / 4 / 2 → Q8 /
// Q4 / Q2. Throws std::invalid_argument naming the accepted values otherwise.
KVType kv_type_for_bits(int bits);
// Code bits of a quantized type (8, 4, 2); 0 for the float types.
int kv_quant_bits(KVType type);
// Bytes of one row of n elements of `type` (group_size only matters for quantized types; n must
// be a multiple of it there: validate_kv_row).
size_t kv_row_bytes(KVType type, int64_t n, int group_size);
// Throws std::invalid_argument unless rows of n elements can be stored as `type` with this group
// size (quantized: group 32, 64 or 128 dividing n).
void validate_kv_row(KVType type, int64_t n, int group_size);
// The group a cache of head size n uses when asked for `group_size`: a head smaller than the
// group is one group (the tiny test models have 32-wide heads; MLX's default group is 64).
inline int kv_group_for(int group_size, int64_t n) {
  return n > 0 && n < group_size ? static_cast<int>(n) : group_size;
}
// Bytes per element of the float types (4, 2, 2); quantized types have no whole number: use
// kv_row_bytes.
size_t kv_type_bytes(KVType type);
const char* kv_type_name(KVType type);  // "f32", "f16", "bf16", "q8", "q4", "q2"
// One of those names; throws std::invalid_argument naming the accepted values otherwise.
KVType parse_kv_type(const std::string& name);

// dst = the n elements of src stored as `type`: float types converted (storage/dtype.h's scalar
// conversions: round to nearest even, NaN stays NaN, overflow becomes ±inf, f16 keeps
// subnormals; the SIMD kernels are tested against them), quantized types quantized per group
// (kernels/kv_quant.h). dst holds kv_row_bytes(type, n, group_size) bytes.
void store_kv_row(KVType type, const float* src, int64_t n, void* dst, int group_size = 64);
// dst[0..n) = the row of n elements of `type` at src as float (exact for the float types; the
// dequantized values ŝ·q + b̂ for quantized ones).
void load_kv_row(KVType type, const void* src, int64_t n, float* dst, int group_size = 64);

// The cached rows of one kv head: key p at keys + p·kv_row_bytes(type, stride, group_size)
// bytes (a row of `stride` elements of which the kernels read the first dim), value p likewise.
struct KVRows {
  const void* keys = nullptr;
  const void* values = nullptr;
  int64_t stride = 0;  // elements between consecutive rows
  KVType type = KVType::F32;
  int group_size = 64;  // quantized types: elements per scale / bias

  size_t row_bytes() const { return kv_row_bytes(type, stride, group_size); }
};

// ---------------------------------------------------------------------------------------------
// Reference (scalar, float rows): out[dim] = Σ_p softmax_p(scale · q·k_p) v_p for p ∈ [0, count),
// key p at keys + p·stride and value p at values + p·stride. Causality is the caller's choice of
// `count`. `scores` holds `count` floats of scratch. Softmax in float32 with the max subtracted.
void attend(const float* q, const float* keys, const float* values, int64_t count, int64_t stride,
            int dim, float scale, float* scores, float* out);

// The kernels walk their range in blocks of this many rows (kept in L1 while every head uses
// them). Quantized rows with Int8 dots round the value weights per block, so a range split at
// multiples of it (from row 0) computes what one pass computes, up to float rounding.
constexpr int64_t kAttendBlockRows = 32;

// Reference for typed rows: each row widened to float (load_kv_row), then `attend` per head.
// q and out are [heads][dim].
void attend_reference(const float* q, int heads, const KVRows& kv, int64_t count, int dim,
                      float scale, float* out);

// Reference of the Int8 path (quantized rows only): each head's query quantized per group
// of kv.group_size (quantize_query_group, kernels/kv_quant.h), scores from integer dots with
// the key codes (int8_query_key_dot), softmax, then the values — with int16 weights per block of
// kAttendBlockRows rows from row 0 (int16_weighted_values) where `int16_values`, else in float.
void attend_reference_int8_query(const float* q, int heads, const KVRows& kv, int64_t count,
                                 int dim, float scale, float* out, bool int16_values);
// Whether attend_group / attend_group_partial score these rows with Int8 dot products on the
// target dispatch picks now (then they equal attend_reference_int8_query up to float rounding
// where their range starts at a multiple of kAttendBlockRows, else attend_reference): quantized
// rows, a CPU with Int8 dot instructions (AVX-512 VNNI, ARM dotprod, AVX2's vpmaddubsw), dim ≤
// 256 and a multiple of the group, at most 128 heads.
bool attend_group_int8_keys(int heads, const KVRows& kv, int dim);
// Whether that path also weighs the values with int16 weights (AVX-512 VNNI and AVX2; with NEON
// dot products the values stay float): attend_reference_int8_query's `int16_values`. Both answer
// for the target attend_group runs these rows on.
bool attend_group_int16_values(int heads, const KVRows& kv, int dim);

// The `heads` query heads that share one kv head (GQA) attend together over rows [0, count):
// q and out are [heads][dim]. Equal to attend_reference up to float rounding, but each key and
// value row is read once for all heads, in blocks that stay in L1 while every head uses them,
// with an online softmax (running max and sum per head, so one pass over the rows). SIMD
// (ops_attention_simd.cpp, picked at run time); dims that are not a multiple of the vector
// length run the reference. Quantized keys are scored with Int8 dot products where the CPU
// has them (attend_group_int8_keys).
void attend_group(const float* q, int heads, const KVRows& kv, int64_t count, int dim, float scale,
                  float* out);

// The same over rows [begin, end) only, unnormalised, so a long run can be split across threads
// (flash-decoding): acc[heads][dim] = Σ_p exp(s_p − max) v_p, max[heads] = max_p s_p (−inf when
// the range is empty) and sum[heads] = Σ_p exp(s_p − max), with s_p = scale · q·k_p.
void attend_group_partial(const float* q, int heads, const KVRows& kv, int64_t begin, int64_t end,
                          int dim, float scale, float* acc, float* max, float* sum);

// Combines `parts` partial results of the same heads over disjoint row ranges into the softmax
// over their union: acc is [parts][heads][dim], max and sum [parts][heads] (stride between parts:
// heads · dim and heads). out[heads][dim] = Σ_i e^{m_i − M} acc_i / Σ_i e^{m_i − M} l_i, M the
// largest max. Exact up to float rounding whatever the split.
void merge_attend_partials(int parts, int heads, int dim, const float* acc, const float* max,
                           const float* sum, float* out);

}  // namespace tf
