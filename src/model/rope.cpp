#include "model/rope.h"

#include <cmath>
#include <stdexcept>

#include "kernels/ops.h"

namespace tf {

MultimodalRope::MultimodalRope(const TextConfig& config) {
  const int dim = config.rotary_dim();
  if (dim <= 0 || dim % 2 != 0 || dim > config.head_dim)
    throw std::runtime_error("config.json: rotary dim " + std::to_string(dim) +
                             " (head_dim × partial_rotary_factor) must be even and ≤ head_dim");
  half_ = dim / 2;
  inv_freq_.resize(half_);
  for (int i = 0; i < half_; ++i)
    inv_freq_[i] = std::pow(config.rope_theta, -2.0 * i / static_cast<double>(dim));

  // Section → frequency assignment. Interleaved (Qwen3.5): frequency i reads H when
  // i mod 3 = 1 and i < 3·sec[1], W when i mod 3 = 2 and i < 3·sec[2], else T.
  // Contiguous (Qwen2-VL style): the first sec[0] frequencies read T, the next sec[1] H, then W.
  axis_.assign(half_, 0);
  const auto& sec = config.mrope_section;
  if (sec.size() == 3) {
    if (config.mrope_interleaved) {
      for (int i = 0; i < half_; ++i) {
        if (i % 3 == 1 && i < 3 * sec[1]) axis_[i] = 1;
        if (i % 3 == 2 && i < 3 * sec[2]) axis_[i] = 2;
      }
    } else {
      for (int i = 0; i < half_; ++i) axis_[i] = i < sec[0] ? 0 : i < sec[0] + sec[1] ? 1 : 2;
    }
  } else if (!sec.empty()) {
    throw std::runtime_error("config.json: rope_parameters.mrope_section must have 3 entries");
  }
}

void MultimodalRope::angles(const Position3& p, float* cos, float* sin) const {
  const int64_t pos[3] = {p.t, p.h, p.w};
  for (int i = 0; i < half_; ++i) {
    const double theta = static_cast<double>(pos[axis_[i]]) * inv_freq_[i];
    cos[i] = static_cast<float>(std::cos(theta));
    sin[i] = static_cast<float>(std::sin(theta));
  }
}

void MultimodalRope::apply(float* head, const float* cos, const float* sin) const {
  rope_half_split(head, half_, cos, sin);
}

}  // namespace tf
