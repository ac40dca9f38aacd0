#include "kernels/ops.h"

#include <algorithm>
#include <limits>

namespace tf {

namespace {

// 1 / sqrt(mean(x²) + eps), summed in double so long rows lose nothing.
float inv_rms(const float* x, int64_t n, float eps) {
  double ss = 0.0;
  for (int64_t i = 0; i < n; ++i) ss += static_cast<double>(x[i]) * x[i];
  return static_cast<float>(1.0 / std::sqrt(ss / static_cast<double>(n) + eps));
}

}  // namespace

void rms_norm(const float* x, const float* w, int64_t n, float eps, float* out) {
  const float r = inv_rms(x, n, eps);
  for (int64_t i = 0; i < n; ++i) out[i] = x[i] * r * w[i];
}

void rms_norm_gated(const float* x, const float* w, const float* z, int64_t n, float eps,
                    float* out) {
  silu_product(z, x, w, inv_rms(x, n, eps), n, out);  // silu(z) · x · (w · r)
}

void reference::rms_norm_gated(const float* x, const float* w, const float* z, int64_t n,
                               float eps, float* out) {
  const float r = inv_rms(x, n, eps);
  for (int64_t i = 0; i < n; ++i) out[i] = x[i] * r * w[i] * silu(z[i]);
}

void layer_norm(const float* x, const float* w, const float* b, int64_t n, float eps,
                float* out) {
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += x[i];
  const double mean = sum / static_cast<double>(n);
  double ss = 0.0;
  for (int64_t i = 0; i < n; ++i) ss += (x[i] - mean) * (x[i] - mean);
  const double r = 1.0 / std::sqrt(ss / static_cast<double>(n) + eps);
  for (int64_t i = 0; i < n; ++i)
    out[i] = static_cast<float>((x[i] - mean) * r) * w[i] + b[i];
}

void l2_normalize(float* x, int64_t n, float eps, float scale) {
  double ss = 0.0;
  for (int64_t i = 0; i < n; ++i) ss += static_cast<double>(x[i]) * x[i];
  const float r = static_cast<float>(scale / std::sqrt(ss + eps));
  for (int64_t i = 0; i < n; ++i) x[i] *= r;
}

void silu_inplace(float* x, int64_t n) { silu_product(x, nullptr, nullptr, 1.0f, n, x); }

void reference::silu_inplace(float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] = silu(x[i]);
}

void gelu_tanh_inplace(float* x, int64_t n) {
  const float k = 0.7978845608028654f;  // √(2/π)
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    x[i] = 0.5f * v * (1.0f + std::tanh(k * (v + 0.044715f * v * v * v)));
  }
}

void gelu_erf_inplace(float* x, int64_t n) {
  const float k = 0.7071067811865476f;  // 1/√2
  for (int64_t i = 0; i < n; ++i) x[i] = 0.5f * x[i] * (1.0f + std::erf(x[i] * k));
}

void swiglu(const float* gate, const float* up, int64_t n, float* out) {
  silu_product(gate, up, nullptr, 1.0f, n, out);
}

void reference::swiglu(const float* gate, const float* up, int64_t n, float* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = silu(gate[i]) * up[i];
}

FloatRowScan reference::scan_row(const float* x, int64_t n) {
  FloatRowScan scan{-std::numeric_limits<float>::infinity(), false};
  for (int64_t i = 0; i < n; ++i) {
    if (std::isnan(x[i]) || x[i] == std::numeric_limits<float>::infinity()) scan.nan_or_inf = true;
    if (x[i] > scan.max) scan.max = x[i];
  }
  return scan;
}

int64_t reference::first_argmax(const float* x, int64_t n) {
  return n <= 0 ? 0 : std::max_element(x, x + n) - x;
}

void softmax_inplace(float* x, int64_t n) {
  if (n <= 0) return;
  const float m = *std::max_element(x, x + n);
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - m);
    sum += x[i];
  }
  const float inv = static_cast<float>(1.0 / sum);
  for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

float dot(const float* a, const float* b, int64_t n) {
  // Eight independent partial sums in a fixed order: the compiler keeps them in vector
  // registers (a single running sum would serialise every add), and results stay
  // deterministic.
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; ++j) acc[j] += a[i + j] * b[i + j];
  float s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
  for (; i < n; ++i) s += a[i] * b[i];
  return s;
}

void axpy(float alpha, const float* __restrict x, float* __restrict y, int64_t n) {
  // Blocks of 8 the compiler turns into vector operations (at -O2 it leaves a loop of unknown
  // length scalar); each element's arithmetic is the same either way.
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; ++j) y[i + j] += alpha * x[i + j];
  for (; i < n; ++i) y[i] += alpha * x[i];
}

void rope_half_split(float* x, int half, const float* cos, const float* sin) {
  for (int i = 0; i < half; ++i) {
    const float a = x[i];
    const float b = x[i + half];
    x[i] = a * cos[i] - b * sin[i];
    x[i + half] = b * cos[i] + a * sin[i];
  }
}

}  // namespace tf
