// Which x86 instruction-set extensions this CPU and OS support, read once from CPUID and XGETBV.
// One place for the checks every hand-written x86 kernel makes before it runs, instead of
// __builtin_cpu_supports, whose feature names differ between compilers (clang 14 knows neither
// "f16c" nor "avxvnni") and which cannot see AVX-VNNI on GCC before 11.
// Sources: Intel SDM vol. 2A, CPUID leaf 1 (ECX), leaf 7 sub-leaf 0 (EBX, ECX) and sub-leaf 1
// (EAX); XCR0 bits 1-2 (SSE/AVX state) and 5-7 (AVX-512 state) must be enabled by the OS.
#pragma once

namespace tf::simd {

struct X86Features {
  bool avx2 = false, fma = false, f16c = false, bmi2 = false;
  bool avx_vnni = false;  // VEX vpdpbusd on xmm/ymm (Alder Lake, Zen 5)
  bool avx512f = false, avx512bw = false, avx512vl = false;
  bool avx512vnni = false, avx512vbmi = false;
  bool gfni = false;  // vgf2p8affineqb: per-byte bit matrices (Ice Lake, Zen 4)
};

// Detected on first use; all false on other architectures.
const X86Features& x86_features();

}  // namespace tf::simd
