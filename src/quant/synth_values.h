// What the values of a synthetic (random-weight) checkpoint look like, tensor by tensor, and the
// fast deterministic generator that draws them (`tightfit synth`, quant/synth.h).
//
// Speed does not depend on weight values, but a forward pass over 40 random layers must stay
// finite and route tokens over many experts, so the statistics follow a freshly initialised
// model of the same architecture:
//  - Linear weights (quantized or dense): zero mean, std 1/√fan_in, so every projection keeps
//    the RMS of its input (router logits then have std ≈ 1 and top-8 choices vary from token to
//    token instead of collapsing onto a few experts);
//  - embedding: std = the config's initializer_range (0.02 for Qwen3.5);
//  - RMSNorm weights ≈ 1 (MLX stores 1 + w, spec §2.1), ± a few percent;
//  - conv1d taps: std 1/√K; A_log = ln U(1, 16) and dt_bias = softplus⁻¹ of a log-uniform
//    dt ∈ [1e-3, 0.1], the Mamba-2 / Gated DeltaNet initialisation (decays in (0, 1)).
// Quantized modules are written directly as MLX affine data (spec §5): uniformly random packed
// codes q ∈ [0, 2^b − 1] and per-group scale s, bias β with ŵ = s·q + β, where |s| gives the
// target std (a uniform code has std √((2^2b − 1)/12)), its sign is random (MLX stores negative
// scales too) and β = −s·(2^b − 1)/2 centres each group on zero.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "quant/tensor_roles.h"
#include "storage/dtype.h"

namespace tf {

// splitmix64: seeds and hashes (Steele, Lea, Flood 2014).
inline uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// xoshiro256++ (Blackman, Vigna 2019): a few cycles per 64 random bits, so random codes come
// out at several GB/s per core.
class Xoshiro256 {
 public:
  explicit Xoshiro256(uint64_t seed) {
    for (uint64_t& w : s_) w = splitmix64(seed);
  }
  uint64_t next() {
    const uint64_t result = rotl(s_[0] + s_[3], 23) + s_[0];
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }
  // Uniform in [0, 1) with 24 random bits.
  float uniform() { return static_cast<float>(next() >> 40) * (1.0f / 16777216.0f); }
  // Fills n bytes with random bits.
  void fill(uint8_t* out, size_t n);

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

// The seed of one independent stream: a hash of the run's seed, the tensor and the block index.
// Values depend only on these, never on how blocks are spread over threads.
uint64_t stream_seed(uint64_t seed, const std::string& tensor, uint64_t block);

// How the (dequantized) values of one weight tensor are distributed.
struct ValueDistribution {
  enum class Kind : uint8_t {
    Centered,  // uniform, mean `center`, standard deviation `std`
    ALog,      // ln U(1, 16)
    DtBias,    // softplus⁻¹(dt), dt log-uniform in [1e-3, 0.1]
  };
  Kind kind = Kind::Centered;
  float center = 0.0f;
  float std = 0.0f;
};

// The distribution of a tensor from its MLX name, role and shape. `fan_in` is the input width of
// a Linear (last dimension of the dense shape); `initializer_range` the config's.
ValueDistribution value_distribution(const std::string& name, TensorRole role, int64_t fan_in,
                                     float initializer_range);

// Draws `count` values of `dist` into `out` as `dtype` (F32, F16 or BF16).
void draw_dense(const ValueDistribution& dist, Xoshiro256& rng, DType dtype, int64_t count,
                uint8_t* out);

// Scale and bias of quantized groups with dequantized std `std` at `bits` bits: |s| gives the
// std (±25 % from group to group, like real groups' ranges), the sign of s is random and
// β = −s·(2^b − 1)/2 centres the group on zero. Draw scales and biases from the same stream to
// get matching pairs.
struct ScaleBias {
  float scale, bias;
};
class ScaleBiasDrawer {
 public:
  ScaleBiasDrawer(float std, int bits);
  ScaleBias operator()(Xoshiro256& rng) const {
    const uint64_t r = rng.next();
    const float spread = 0.75f + 0.5f * static_cast<float>(r >> 40) * (1.0f / 16777216.0f);
    const float s = (r & 1) ? -spread * unit_ : spread * unit_;
    return {s, -s * half_levels_};
  }

 private:
  float unit_ = 0, half_levels_ = 0;
};

}  // namespace tf
