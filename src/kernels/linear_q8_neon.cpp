// Quantized weights × int8 activations (ActivationPrecision::Int8) on 128-bit ARM vectors:
//   y_n = Σ_g s_{n,g} · d_g · Σ_{k∈g} q_{n,k} · x_q[k]  +  β_{n,g} · Σ_{k∈g} x[k]
// (the x86 version is linear_q8_avx2.cpp; same layouts, same schedule).
//
// ARM's byte dot products are signed × signed, so codes (0 … 2^b − 1) enter as signed bytes:
// exact for b ≤ 6 (< 128); 8-bit codes are split into nibbles. Two ways of forming the dots:
//  - sdot (the dot-product extension, FEAT_DotProd: Apple M1 and later, Graviton 2+, Ampere,
//    Cortex-A55/A76 and later): 16 products summed by fours into int32 in one instruction;
//  - smull + sadalp on any ARMv8 CPU: products in int16 (|q·x| ≤ 127·127), pairs added into
//    int32.
// The integer sums are exact either way, so every target gives reference::matmul_q8's dots.
// Prefill batches use the tile kernels instead (linear_q8_tiles_neon.cpp: sdot, or i8mm's
// usmmla where the CPU has it).
// Highway 1.0.3 (Debian 12) has no int8 dot-product ops, hence intrinsics.
#include "kernels/linear.h"
#include "kernels/linear_internal.h"

#if defined(__aarch64__)
#include <arm_neon.h>
#include <sys/auxv.h>

#include <algorithm>
#include <cstring>
#include <vector>

#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1 << 20)  // Linux arm64 hwcap bit of FEAT_DotProd
#endif

namespace tf::simd {

namespace q8_widening {
#define TF_Q8_DOT 0
#define TF_Q8_ATTR
#include "kernels/linear_q8_neon-inl.h"
#undef TF_Q8_ATTR
#undef TF_Q8_DOT
}  // namespace q8_widening

namespace q8_dotprod {
#define TF_Q8_DOT 1
// arm_neon.h defines vdotq_s32 under armv8.2-a+dotprod; every CPU with sdot is v8.2 or later.
#define TF_Q8_ATTR __attribute__((target("arch=armv8.2-a+dotprod")))
#include "kernels/linear_q8_neon-inl.h"
#undef TF_Q8_ATTR
#undef TF_Q8_DOT
}  // namespace q8_dotprod

bool q8_dot128_supported(Q8Dot128 dot) {
  if (dot == Q8Dot128::Widening) return true;
  return (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0;
}

void q8_neon_rows(Q8Dot128 dot, const WeightMatrix& w, const Q8Input& in, int64_t row_begin,
                  int64_t row_end, float* y, int64_t y_stride) {
  if (dot == Q8Dot128::DotProd) return q8_dotprod::Rows(w, in, row_begin, row_end, y, y_stride);
  q8_widening::Rows(w, in, row_begin, row_end, y, y_stride);
}

}  // namespace tf::simd

#else  // not ARM64: never called (no ARM target runs there)

namespace tf::simd {
bool q8_dot128_supported(Q8Dot128) { return false; }
void q8_neon_rows(Q8Dot128, const WeightMatrix&, const Q8Input&, int64_t, int64_t, float*, int64_t) {}
}  // namespace tf::simd

#endif
