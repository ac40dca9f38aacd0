#include "quant/synth_values.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace tf {

namespace {

bool ends_with(const std::string& s, const char* suffix) {
  const size_t n = std::strlen(suffix);
  return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
}

// Uniform has std = half-width / √3.
constexpr float kSqrt3 = 1.7320508f;

}  // namespace

void Xoshiro256::fill(uint8_t* out, size_t n) {
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const uint64_t w[4] = {next(), next(), next(), next()};
    std::memcpy(out + i, w, 32);
  }
  for (; i < n; i += 8) {
    const uint64_t w = next();
    std::memcpy(out + i, &w, std::min<size_t>(8, n - i));
  }
}

uint64_t stream_seed(uint64_t seed, const std::string& tensor, uint64_t block) {
  // FNV-1a of the name, mixed with the seed and block through splitmix64.
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : tensor) h = (h ^ c) * 0x100000001b3ull;
  uint64_t s = seed ^ h;
  s = splitmix64(s) ^ (block * 0xd1342543de82ef95ull);
  return splitmix64(s);
}

ValueDistribution value_distribution(const std::string& name, TensorRole role, int64_t fan_in,
                                     float initializer_range) {
  using Kind = ValueDistribution::Kind;
  if (ends_with(name, "A_log")) return {Kind::ALog};
  if (ends_with(name, "dt_bias")) return {Kind::DtBias};
  if (role == TensorRole::Norm) return {Kind::Centered, 1.0f, 0.02f};
  if (ends_with(name, "conv1d.weight")) {
    // MLX shape [C, K, 1]: the dense shape's last dim is 1, so K comes from the caller's fan_in
    // only for HF; a depthwise conv of 4 taps is the only one this family has.
    return {Kind::Centered, 0.0f, 0.5f};
  }
  if (role == TensorRole::Embed) return {Kind::Centered, 0.0f, initializer_range};
  return {Kind::Centered, 0.0f, 1.0f / std::sqrt(static_cast<float>(std::max<int64_t>(fan_in, 1)))};
}

void draw_dense(const ValueDistribution& dist, Xoshiro256& rng, DType dtype, int64_t count,
                uint8_t* out) {
  using Kind = ValueDistribution::Kind;
  for (int64_t i = 0; i < count; ++i) {
    float v;
    switch (dist.kind) {
      case Kind::ALog:
        v = std::log(1.0f + 15.0f * rng.uniform());
        break;
      case Kind::DtBias: {
        const float dt = std::exp(std::log(1e-3f) + (std::log(0.1f) - std::log(1e-3f)) * rng.uniform());
        v = dt + std::log(-std::expm1(-dt));  // softplus⁻¹(dt)
        break;
      }
      default:
        v = dist.center + dist.std * kSqrt3 * (2.0f * rng.uniform() - 1.0f);
        break;
    }
    store_float(out, dtype, static_cast<size_t>(i), v);
  }
}

ScaleBiasDrawer::ScaleBiasDrawer(float std, int bits) {
  const float levels = static_cast<float>((1 << bits) - 1);  // n = 2^b − 1
  // std of a code uniform on {0, …, n}: √(((n + 1)² − 1) / 12).
  const float code_std = std::sqrt(((levels + 1.0f) * (levels + 1.0f) - 1.0f) / 12.0f);
  unit_ = std / code_std;
  half_levels_ = 0.5f * levels;
}

}  // namespace tf
