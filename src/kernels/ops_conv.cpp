#include "kernels/ops_conv.h"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "kernels/ops.h"

namespace tf {

namespace {

// One token's outputs: o[c] = Σ_tap w[c][tap] · in[tap][c], summed in tap order. Each channel's
// sum stays in a register (a loop that added every tap into o[] stored and reloaded o[c] per
// tap); kTaps known at compile time (0: K at run time) lets the compiler vectorise the
// [c][tap] weight reads.
template <int kTaps>
void conv_token(const float* const* in, const float* __restrict weight, int K, int64_t channels,
                float* __restrict o) {
  const int taps = kTaps > 0 ? kTaps : K;
  for (int64_t c = 0; c < channels; ++c) {
    float s = 0.0f;
    for (int tap = 0; tap < taps; ++tap) s += weight[c * taps + tap] * in[tap][c];
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
      conv_token<4>(in, weight, K, channels, o);
    else
      conv_token<0>(in, weight, K, channels, o);
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
