// Causal depthwise 1-D convolution over time followed by SiLU, with a rolling state of the last
// K − 1 inputs (the Gated DeltaNet short convolution, spec §3.4 step 2).
#pragma once

#include <cstdint>

namespace tf {

// The longest kernel causal_conv1d_silu takes (Qwen3.5: 4).
constexpr int kMaxConvTaps = 16;

// x: [count][stride] raw inputs, of which channels [0, channels) are convolved; weight:
// [channels][K], tap K − 1 multiplies the current token and tap 0 the token K − 1 steps back;
// state: [K − 1][stride], the inputs preceding x (zeros at sequence start), oldest first, its
// channels [0, channels) replaced by the last K − 1 inputs on return. out: [count][stride], must
// not alias x or state. Channels are independent: a caller may split them between threads by
// offsetting x, weight (by c · K), state and out, with stride the full row. K in
// [1, kMaxConvTaps], else std::invalid_argument.
void causal_conv1d_silu(const float* x, int64_t count, int64_t channels, int64_t stride,
                        const float* weight, int K, float* state, float* out);

}  // namespace tf
