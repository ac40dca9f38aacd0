// Multimodal rotary position embedding of the full-attention layers (spec §3.6): partial
// rotary over the first rotary_dim dims of each head, half-split pairs, and each frequency
// taking its position from one axis (T, H or W) of the token's position triple.
#pragma once

#include <cstdint>
#include <vector>

#include "storage/model_config.h"

namespace tf {

// A token's position on the temporal, height and width axes. Text tokens have t = h = w.
struct Position3 {
  int64_t t = 0, h = 0, w = 0;
  static Position3 text(int64_t p) { return {p, p, p}; }
  bool operator==(const Position3&) const = default;
};

class MultimodalRope {
 public:
  explicit MultimodalRope(const TextConfig& config);

  int rotary_dim() const { return 2 * half_; }
  int half() const { return half_; }
  // Which axis (0 = T, 1 = H, 2 = W) frequency i reads.
  int axis(int i) const { return axis_[i]; }
  // cos / sin of the half() rotation angles for one position.
  void angles(const Position3& p, float* cos, float* sin) const;
  // Rotates the first rotary_dim() entries of one head vector in place.
  void apply(float* head, const float* cos, const float* sin) const;

 private:
  int half_ = 0;
  std::vector<double> inv_freq_;
  std::vector<int> axis_;
};

}  // namespace tf
