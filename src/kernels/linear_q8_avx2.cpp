// Quantized weights × int8 activations (ActivationPrecision::Int8) on 256-bit x86 vectors:
//   y_n = Σ_g s_{n,g} · d_g · Σ_{k∈g} q_{n,k} · x_q[k]  +  β_{n,g} · Σ_{k∈g} x[k]
// for CPUs without the AVX-512 VBMI + VNNI pair the 512-bit kernels need (linear_q8.cpp):
// AVX2 (AMD Zen 1-3, Intel Haswell to Comet Lake), AVX-VNNI (Intel Alder Lake and later, AMD
// Zen 5 laptops) and AVX-512 without VBMI (Skylake-X, Cascade Lake).
//
// Codes are unsigned (0 … 2^b − 1) and activations signed (±127), which is the operand order
// of x86's byte dot products: vpmaddubsw (u8 × s8, pairs summed in int16) + vpmaddwd on AVX2,
// as llama.cpp's AVX2 q8 dot products do, or one vpdpbusd (u8 × s8, quads summed in int32)
// where VNNI exists. The integer sums are exact on every path (the int16 pair sums cannot
// saturate: ≤ 2·15·127 for 4-bit codes; 8-bit codes are split into nibbles), so every target
// gives the same dots as reference::matmul_q8.
//
// Unpacking MLX's LSB-first bitstream into bytes is the kernel's other half. Instead of putting
// codes back in natural order, each bit width keeps the order its cheapest unpack produces and
// the activations are stored in that order once per call: the 32-code block order of
// linear_q8_block_order.cpp (2-bit: shift plane m of 8 bytes; 3-bit: the two codes of each
// 16-bit word from one multiply and a shift; 4-bit: low, then high nibbles of 16 bytes; 5-, 6-, 8-bit natural, 5/6-bit rows
// unpacked per row first, a slower path for widths no recipe uses on the hot path).
// Highway 1.0.3 (Debian 12) has no int8 dot-product ops, hence intrinsics; the three variants
// are one source (linear_q8_avx2-inl.h) compiled three times with their target attributes.
#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/linear.h"
#include "kernels/linear_internal.h"
#include "kernels/x86_features.h"

#if defined(__x86_64__)
#include <immintrin.h>

#include "kernels/transpose_avx2.h"

namespace tf::simd {

namespace q8_maddubs {
#define TF_Q8_DOT 0
#define TF_Q8_ATTR __attribute__((target("avx2,fma,f16c")))
#include "kernels/linear_q8_avx2-inl.h"
#undef TF_Q8_ATTR
#undef TF_Q8_DOT
}  // namespace q8_maddubs

namespace q8_avx_vnni {
#define TF_Q8_DOT 1
#define TF_Q8_ATTR __attribute__((target("avx2,fma,f16c,avxvnni")))
#include "kernels/linear_q8_avx2-inl.h"
#undef TF_Q8_ATTR
#undef TF_Q8_DOT
}  // namespace q8_avx_vnni

namespace q8_avx512_vnni {
#define TF_Q8_DOT 2
#define TF_Q8_ATTR __attribute__((target("avx2,fma,f16c,avx512f,avx512vl,avx512vnni")))
#include "kernels/linear_q8_avx2-inl.h"
#undef TF_Q8_ATTR
#undef TF_Q8_DOT
}  // namespace q8_avx512_vnni

bool q8_dot256_supported(Q8Dot256 dot) {
  const tf::simd::X86Features& cpu = tf::simd::x86_features();
  const bool avx2 = cpu.avx2 && cpu.fma && cpu.f16c;
  switch (dot) {
    case Q8Dot256::Maddubs: return avx2;
    case Q8Dot256::AvxVnni: return avx2 && cpu.avx_vnni;
    case Q8Dot256::Avx512Vnni: return avx2 && cpu.avx512f && cpu.avx512vl && cpu.avx512vnni;
  }
  return false;
}

void q8_avx2_rows(Q8Dot256 dot, const WeightMatrix& w, const Q8Input& in, int64_t row_begin,
                  int64_t row_end, float* y, int64_t y_stride) {
  switch (dot) {
    case Q8Dot256::Maddubs: return q8_maddubs::Rows(w, in, row_begin, row_end, y, y_stride);
    case Q8Dot256::AvxVnni: return q8_avx_vnni::Rows(w, in, row_begin, row_end, y, y_stride);
    case Q8Dot256::Avx512Vnni: return q8_avx512_vnni::Rows(w, in, row_begin, row_end, y, y_stride);
  }
}

// The row kernels' unpack, for the 256-bit tile kernel (linear_q8_tiles_avx2.cpp).
void q8_avx2_unpack_rows8(int bits, const uint8_t* first, size_t row_bytes, int n, int64_t cols,
                          int32_t* quads) {
  with_affine_bits(bits, [&](auto b) {
    q8_maddubs::UnpackRows8<decltype(b)::value>(first, row_bytes, n, cols, quads);
  });
}

__attribute__((target("avx2,fma,f16c"))) void q8_avx2_to_float(const uint8_t* src, DType dt,
                                                                int64_t count, float* dst) {
  q8_maddubs::ScaleRow(src, dt, count, nullptr, dst);
}

}  // namespace tf::simd

#else  // not x86-64: never called (no x86 target runs there)

namespace tf::simd {
void q8_avx2_unpack_rows8(int, const uint8_t*, size_t, int, int64_t, int32_t*) {}
void q8_avx2_to_float(const uint8_t*, DType, int64_t, float*) {}
bool q8_dot256_supported(Q8Dot256) { return false; }
void q8_avx2_rows(Q8Dot256, const WeightMatrix&, const Q8Input&, int64_t, int64_t, float*, int64_t) {}
}  // namespace tf::simd

#endif
