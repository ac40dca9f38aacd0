#include "kernels/ops_conv.h"

#include <algorithm>

#include "kernels/ops.h"

namespace tf {

void causal_conv1d_silu(const float* x, int64_t count, int64_t channels, const float* weight,
                        int K, float* state, float* out) {
  const int64_t hist = K - 1;
  // Input at time τ ∈ [−hist, count): the state for τ < 0, else x.
  auto input = [&](int64_t tau) {
    return tau < 0 ? state + (hist + tau) * channels : x + tau * channels;
  };
  for (int64_t t = 0; t < count; ++t) {
    float* o = out + t * channels;
    std::fill(o, o + channels, 0.0f);
    for (int tap = 0; tap < K; ++tap) {
      const float* in = input(t - hist + tap);
      for (int64_t c = 0; c < channels; ++c) o[c] += weight[c * K + tap] * in[c];
    }
    silu_inplace(o, channels);
  }
  // New state: the last `hist` inputs of (state, x).
  for (int64_t r = 0; r < hist; ++r) {
    const int64_t tau = count - hist + r;  // ≥ −hist
    if (tau < 0) {
      // Still inside the old state: shift it down (r < hist + tau ≤ source row, so in-place
      // forward copying is safe).
      std::copy(state + (hist + tau) * channels, state + (hist + tau + 1) * channels,
                state + r * channels);
    } else {
      std::copy(x + tau * channels, x + (tau + 1) * channels, state + r * channels);
    }
  }
}

}  // namespace tf
