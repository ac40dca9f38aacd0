// causal_conv1d_silu (ops_conv.h). A decode step runs it once per DeltaNet layer on 8,192
// channels, a prefill on every token: the taps of a channel are summed in vectors across
// channels (Highway, picked at run time), Qwen3.5's 4 taps de-interleaved from the [c][tap]
// weights by LoadInterleaved4. A scalar loop over taps per channel was a chain of dependent
// adds (~16 cycles a channel, ~1 ms of a 40-layer decode step). The tail goes through
// zero-padded vectors, so every channel gets the same arithmetic wherever a call's channels
// start (a caller may split them between threads).
#include "kernels/ops_conv.h"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "kernels/ops.h"

#include "kernels/hwy_targets.h"  // before any hwy/ header

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/ops_conv.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace tf::simd {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using DF = hn::ScalableTag<float>;
using VF = hn::Vec<DF>;

// o = ((w0·x0 + w1·x1) + w2·x2) + w3·x3 for N channels, products and sums rounded one by one
// (no fused multiply-add), in tap order as the scalar reference.
HWY_INLINE VF Taps4(DF d, const float* w, const float* x0, const float* x1, const float* x2,
                    const float* x3) {
  VF w0, w1, w2, w3;
  hn::LoadInterleaved4(d, w, w0, w1, w2, w3);
  VF s = hn::Add(hn::Mul(w0, hn::LoadU(d, x0)), hn::Mul(w1, hn::LoadU(d, x1)));
  s = hn::Add(s, hn::Mul(w2, hn::LoadU(d, x2)));
  return hn::Add(s, hn::Mul(w3, hn::LoadU(d, x3)));
}

// One token, K = 4: o[c] = Σ_tap weight[c][tap] · in[tap][c].
void ConvToken4(const float* const* in, const float* weight, int64_t channels, float* o) {
  const DF d;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  int64_t c = 0;
  for (; c + N <= channels; c += N)
    hn::StoreU(Taps4(d, weight + 4 * c, in[0] + c, in[1] + c, in[2] + c, in[3] + c), d, o + c);
  if (c < channels) {
    constexpr size_t kMax = HWY_MAX_BYTES / sizeof(float);
    HWY_ALIGN float w[4 * kMax] = {}, x[4][kMax] = {}, out[kMax];
    const int64_t rest = channels - c;
    std::copy_n(weight + 4 * c, 4 * rest, w);
    for (int tap = 0; tap < 4; ++tap) std::copy_n(in[tap] + c, rest, x[tap]);
    hn::Store(Taps4(d, w, x[0], x[1], x[2], x[3]), d, out);
    std::copy_n(out, rest, o + c);
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace tf::simd
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace tf {

namespace simd {
HWY_EXPORT(ConvToken4);
// Dispatched from inside tf::simd (where only one target is compiled the macro becomes a
// static call into this namespace).
void DispatchConvToken4(const float* const* in, const float* weight, int64_t channels, float* o) {
  HWY_DYNAMIC_DISPATCH(ConvToken4)(in, weight, channels, o);
}
}  // namespace simd

namespace {

// Any other kernel size (not a Qwen3.5 shape): per channel, taps in order.
void conv_token(const float* const* in, const float* weight, int K, int64_t channels, float* o) {
  for (int64_t c = 0; c < channels; ++c) {
    float s = 0.0f;
    for (int tap = 0; tap < K; ++tap) s += weight[c * K + tap] * in[tap][c];
    o[c] = s;
  }
}

}  // namespace

void causal_conv1d_silu(const float* x, int64_t count, int64_t channels, int64_t stride,
                        const float* weight, int K, float* state, float* out) {
  if (K < 1 || K > kMaxConvTaps)
    throw std::invalid_argument("causal_conv1d_silu: kernel size " + std::to_string(K) +
                                " outside 1.." + std::to_string(kMaxConvTaps));
  const int64_t hist = K - 1;
  // Input at time τ ∈ [−hist, count): the state for τ < 0, else x.
  auto input = [&](int64_t tau) {
    return tau < 0 ? state + (hist + tau) * stride : x + tau * stride;
  };
  const float* in[kMaxConvTaps];
  for (int64_t t = 0; t < count; ++t) {
    for (int tap = 0; tap < K; ++tap) in[tap] = input(t - hist + tap);
    float* o = out + t * stride;
    if (K == 4)  // Qwen3.5's kernel size
      simd::DispatchConvToken4(in, weight, channels, o);
    else
      conv_token(in, weight, K, channels, o);
    silu_inplace(o, channels);
  }
  // New state: the last `hist` inputs of (state, x).
  for (int64_t r = 0; r < hist; ++r) {
    const int64_t tau = count - hist + r;  // ≥ −hist
    if (tau < 0) {
      // Still inside the old state: shift it down (r < hist + tau ≤ source row, so in-place
      // forward copying is safe).
      std::copy_n(state + (hist + tau) * stride, channels, state + r * stride);
    } else {
      std::copy_n(x + tau * stride, channels, state + r * stride);
    }
  }
}

}  // namespace tf
#endif  // HWY_ONCE
