// Causal depthwise 1-D convolution over time followed by SiLU, with a rolling state of the last
// K − 1 inputs (the Gated DeltaNet short convolution, spec §3.4 step 2).
#pragma once

#include <cstdint>

namespace tf {

// x: [count][channels] raw inputs; weight: [channels][K], tap K − 1 multiplies the current
// token and tap 0 the token K − 1 steps back; state: [K − 1][channels], the inputs preceding
// x (zeros at sequence start), oldest first, replaced by the last K − 1 inputs on return.
// out: [count][channels], must not alias x or state.
void causal_conv1d_silu(const float* x, int64_t count, int64_t channels, const float* weight,
                        int K, float* state, float* out);

}  // namespace tf
