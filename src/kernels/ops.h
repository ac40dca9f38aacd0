// Row-wise float32 operations a transformer needs besides matrix products: normalisations,
// activations, softmax and rotary embedding. Mostly plain scalar code (a small share of the work
// next to the weight matrices); the silu-based activations, whose libm exp does not vectorise,
// run through silu_product (SIMD). Callers own all buffers.
#pragma once

#include <cmath>
#include <cstdint>

namespace tf {

inline float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }
inline float silu(float x) { return x / (1.0f + std::exp(-x)); }
// ln(1 + eˣ) without overflow for large x or loss of precision for very negative x.
inline float softplus(float x) { return x > 20.0f ? x : std::log1p(std::exp(x)); }

// out = x / sqrt(mean(x²) + eps) ⊙ w. The weight is applied as given: a zero-centred norm
// (stored w, used as 1 + w) must be offset by the caller once, at load. out may alias x.
void rms_norm(const float* x, const float* w, int64_t n, float eps, float* out);

// Gated RMSNorm of the Gated DeltaNet output (spec §3.2):
// out = x / sqrt(mean(x²) + eps) ⊙ w ⊙ silu(z). out may alias x.
void rms_norm_gated(const float* x, const float* w, const float* z, int64_t n, float eps,
                    float* out);

// x ← x / sqrt(Σx² + eps) · scale, in place (the q/k normalisation of spec §3.4 step 4).
void l2_normalize(float* x, int64_t n, float eps, float scale);

// LayerNorm with weight and bias: out = (x − mean) / sqrt(var + eps) ⊙ w + b, mean and (biased)
// variance summed in double (the vision tower, spec §4.5). out may alias x.
void layer_norm(const float* x, const float* w, const float* b, int64_t n, float eps, float* out);

// x ← silu(x), in place.
void silu_inplace(float* x, int64_t n);

// x ← gelu(x), in place. gelu_tanh: the tanh approximation (PyTorch "gelu_pytorch_tanh"),
// 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))); gelu_erf: the exact form 0.5·x·(1 + erf(x/√2)).
void gelu_tanh_inplace(float* x, int64_t n);
void gelu_erf_inplace(float* x, int64_t n);

// out = silu(gate) ⊙ up (SwiGLU). out may alias gate or up.
void swiglu(const float* gate, const float* up, int64_t n, float* out);

// out = silu(gate) ⊙ up ⊙ scale · r, where a null up or scale is a factor of 1: the SIMD loop
// (Highway, vector exp; ops_activation_simd.cpp) behind silu_inplace, swiglu and
// rms_norm_gated. Equal to the scalar formula up to float rounding. out may alias any input.
void silu_product(const float* gate, const float* up, const float* scale, float r, int64_t n,
                  float* out);

// One pass over a row of floats (a logit row): its largest entry and whether any entry is NaN
// or +inf (then `max` means nothing). SIMD (ops_argmax_simd.cpp); n ≥ 1.
struct FloatRowScan {
  float max;
  bool nan_or_inf;
};
FloatRowScan scan_row(const float* x, int64_t n);

// The lowest index of the largest entry of x[0, n) — std::max_element's choice, so the lowest
// token id wins a tie; an all −inf row gives 0. x must hold no NaN. SIMD (ops_argmax_simd.cpp).
int64_t first_argmax(const float* x, int64_t n);
// The same when the largest entry is known (scan_row's max of the same row): the lowest index
// holding `max` — one pass fewer.
int64_t first_index_of_max(const float* x, int64_t n, float max);

// x ← softmax(x), in place, with the max subtracted first.
void softmax_inplace(float* x, int64_t n);

// Σ a·b accumulated in float (eight interleaved partial sums).
float dot(const float* a, const float* b, int64_t n);

// y += alpha · x (x and y must not overlap)
void axpy(float alpha, const float* x, float* y, int64_t n);

// Rotary embedding with half-split (NeoX) pairing on the first 2·half entries of x:
// (x_i, x_{i+half}) → (x_i cos_i − x_{i+half} sin_i, x_{i+half} cos_i + x_i sin_i), i < half.
// Entries from 2·half on pass through (partial rotary, spec §3.6).
void rope_half_split(float* x, int half, const float* cos, const float* sin);

// The plain scalar loops the SIMD activations and row scans are tested against.
namespace reference {
void silu_inplace(float* x, int64_t n);
void swiglu(const float* gate, const float* up, int64_t n, float* out);
void rms_norm_gated(const float* x, const float* w, const float* z, int64_t n, float eps,
                    float* out);
FloatRowScan scan_row(const float* x, int64_t n);
int64_t first_argmax(const float* x, int64_t n);
}  // namespace reference

}  // namespace tf
