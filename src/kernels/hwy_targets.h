// The Highway targets every SIMD kernel file compiles, in one place so all of them agree.
// Include it before any hwy/ header. SSSE3 adds nothing over SSE4 for us; SVE is left to NEON
// (the kernels use fixed-size tables and Highway 1.0.3's SVE targets are not worth the build
// time). With SVE off, an ARM build has a single target (NEON): HWY_DYNAMIC_DISPATCH then
// becomes a static call, which is why the kernels dispatch from inside namespace tf::simd.
#pragma once

#ifndef HWY_DISABLED_TARGETS
#define HWY_DISABLED_TARGETS (HWY_SSSE3 | HWY_SVE | HWY_SVE2 | HWY_SVE_256 | HWY_SVE2_128)
#endif

// Vector registers of the target being compiled (expand inside a Highway target pass): 16 on
// SSE4 and AVX2, 32 on AVX-512 and NEON — how many sums and loads a kernel's register tile may
// hold at once.
#define TF_HWY_TARGET_VECTOR_REGISTERS                                                   \
  ((HWY_TARGET == HWY_SSE4 || HWY_TARGET == HWY_AVX2 || HWY_TARGET == HWY_SSSE3 ||       \
    HWY_TARGET == HWY_EMU128 || HWY_TARGET == HWY_SCALAR)                                \
       ? 16                                                                              \
       : 32)
