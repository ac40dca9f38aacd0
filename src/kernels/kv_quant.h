// Quantized rows of the KV cache: affine per group, as MLX's QuantizedKVCache stores keys and
// values (mx.quantize, https://ml-explore.github.io/mlx/build/html/python/_autosummary/mlx.core.quantize.html):
// each group of G consecutive elements of a row keeps b-bit codes q ∈ [0, 2^b − 1], a scale s and
// a bias β, and an element reads as s·q + β. Why this and not llama.cpp's q8_0 / q4_0 blocks is
// in docs/kernels.md (a bias per group fits the shifted ranges of normed keys; the codes unpack
// with the same shifts at every width).
//
// Layout of one row of n elements (n a multiple of G; G ∈ {32, 64, 128}):
//   codes   n·b/8 bytes: group g's G·b/8 bytes (P of them) at g·P; element e of the group in
//           byte e mod P at bits [b·(e div P), b·(e div P) + b) — "planes" of P bytes, so a
//           vector of consecutive elements is one load of consecutive bytes and one shift
//   scales  n/G bf16
//   biases  n/G bf16
// Scale and bias are bf16 (MLX keeps them in the model's dtype, bf16 for Qwen3.5) with directed
// rounding — β rounded down, then s rounded up over the range that is left — so every element of
// the group stays inside the codes' range and the error of an element is at most s/2.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tf {

// Bytes of a row of n elements with b-bit codes and groups of `group` elements.
size_t kv_quant_row_bytes(int bits, int64_t n, int group);
// True when b ∈ {8, 4, 2}, group ∈ {32, 64, 128} and n is a positive multiple of group.
bool kv_quant_row_valid(int bits, int64_t n, int group);

// Quantizes src[0..n) into dst (kv_quant_row_bytes bytes). A group holding a NaN or an infinity
// stores NaN scale and bias (it reads back as NaN, as a float cache would propagate it).
void quantize_kv_row(int bits, int group, const float* src, int64_t n, uint8_t* dst);
// dst[0..n) = s·q + β of each element (scalar reference of the attention kernels' reads).
void dequantize_kv_row(int bits, int group, const uint8_t* src, int64_t n, float* dst);

// The query side of Int8 key dot products (attend_group on targets with Int8 dots, ops_attention.h).
// One group of n query elements becomes int8 symmetric like llama.cpp's q8_0 — qi = round-to-even
// of q·(127/m), d = m/127 with m = max|q| (all zero when m = 0) — plus the float sum of the
// elements, so that against a key row k_e = s_g·c_e + β_g (codes c, this header's layout)
//   q·k ≈ Σ_g s_g · (d_g · Σ_{e∈g} qi_e c_e) + β_g · Σ_{e∈g} q_e.
// The integer sums are exact; only the query's rounding (≤ d/2 an element) is new error.
void quantize_query_group(const float* q, int n, int8_t* qi, float* d, float* sum);
// That dot for one key row of `dim` elements (dim a multiple of group), the scalar reference of
// the SIMD kernels: qi, d and sum hold dim, dim/group and dim/group entries (group by group, as
// quantize_query_group writes them), accumulated group by group in that order.
float int8_query_key_dot(int bits, int group, const int8_t* qi, const float* d, const float* sum,
                         const uint8_t* key, int64_t stride, int dim);

// The value side of the same kernels: out[0..dim) += Σ_{p<n} w_p · v_p over a block of n ≤ 32
// value rows (rows[p], this header's layout), with each group's weights rounded to int16. Per
// group g: ws_p = w_p · s_{p,g}; d = max_p |ws_p| / 32767; wq_p = round-to-even(ws_p / d) (all
// zero when d = 0); and with the middle code m = 2^(b−1)
//   Σ_p w_p (s_p c_p + β_p) ≈ d · Σ_p wq_p (c_p − m) + Σ_p w_p β_p + m · Σ_p ws_p,
// integer sums exact, so the only new error is the weights' rounding (≤ d/2 each: 1.5e-5 of the
// block's largest weight, times |c − m| ≤ m). The kernels' blocks are rows [32k, 32k + 32) of
// the range they are given. Scalar reference of the SIMD kernels, in their order of operations.
void int16_weighted_values(int bits, int group, const float* w, const uint8_t* const* rows,
                           int n, int64_t stride, int dim, float* out);

}  // namespace tf
