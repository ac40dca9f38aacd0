// silu_product (ops.h), the SIMD loop behind silu_inplace, swiglu and the x·r·w·silu(z) product
// of rms_norm_gated. The scalar loops call libm's expf one element at a
// time (GCC does not vectorise it without -ffast-math); in prefill these loops run over every
// expert's intermediate activations and every DeltaNet output, a few percent of the time.
// Highway's Exp (hwy/contrib/math) is accurate to a few ulp, so results differ from the
// scalar reference:: loops in ops.cpp by float rounding only; tests/kernels/ops_test.cpp checks it.
#include <cmath>
#include <cstdint>

#include "kernels/ops.h"

#include "kernels/hwy_targets.h"  // before any hwy/ header

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/ops_activation_simd.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "hwy/contrib/math/math-inl.h"

HWY_BEFORE_NAMESPACE();
namespace tf::simd {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using DF = hn::ScalableTag<float>;
using VF = hn::Vec<DF>;

// silu(x) = x / (1 + e^{-x}). For x below about -88 e^{-x} is +inf and the quotient is -0,
// as in the scalar form.
HWY_INLINE VF SiluV(DF d, VF x) {
  const VF one = hn::Set(d, 1.0f);
  return hn::Div(x, hn::Add(one, hn::Exp(d, hn::Neg(x))));
}

// out[i] = silu(gate[i]) · up[i]; up == nullptr means out[i] = silu(gate[i]).
// scale != nullptr multiplies by scale[i] · r as well (the gated RMSNorm).
void SiluProduct(const float* gate, const float* up, const float* scale, float r, int64_t n,
                 float* out) {
  const DF d;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  const VF vr = hn::Set(d, r);
  int64_t i = 0;
  for (; i + N <= n; i += N) {
    VF v = SiluV(d, hn::LoadU(d, gate + i));
    if (up) v = hn::Mul(v, hn::LoadU(d, up + i));
    if (scale) v = hn::Mul(v, hn::Mul(hn::LoadU(d, scale + i), vr));
    hn::StoreU(v, d, out + i);
  }
  if (i < n) {  // the tail, through zero-padded vectors so it uses the same arithmetic
    constexpr size_t kMax = HWY_MAX_BYTES / sizeof(float);
    HWY_ALIGN float g[kMax] = {}, u[kMax] = {}, w[kMax] = {};
    const int64_t rest = n - i;
    for (int64_t j = 0; j < rest; ++j) {
      g[j] = gate[i + j];
      if (up) u[j] = up[i + j];
      if (scale) w[j] = scale[i + j];
    }
    VF v = SiluV(d, hn::Load(d, g));
    if (up) v = hn::Mul(v, hn::Load(d, u));
    if (scale) v = hn::Mul(v, hn::Mul(hn::Load(d, w), vr));
    hn::Store(v, d, g);
    for (int64_t j = 0; j < rest; ++j) out[i + j] = g[j];
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace tf::simd
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace tf {

namespace simd {
HWY_EXPORT(SiluProduct);
// Dispatched from inside tf::simd: where only one target is compiled (NEON without SVE),
// HWY_DYNAMIC_DISPATCH becomes a static call to N_<TARGET>::SiluProduct in this namespace.
void DispatchSiluProduct(const float* gate, const float* up, const float* scale, float r,
                         int64_t n, float* out) {
  HWY_DYNAMIC_DISPATCH(SiluProduct)(gate, up, scale, r, n, out);
}
}  // namespace simd

void silu_product(const float* gate, const float* up, const float* scale, float r, int64_t n,
                  float* out) {
  simd::DispatchSiluProduct(gate, up, scale, r, n, out);
}

}  // namespace tf
#endif  // HWY_ONCE
