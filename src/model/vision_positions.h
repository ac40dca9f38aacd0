// Where each patch of an image sits, and the two position signals the vision tower adds from
// that: the learned position embedding resampled to the image's patch grid (spec §4.3) and the
// 2-D rotary embedding of the attention (spec §4.4). Patches are always listed in 2×2
// merge-block order (spec §4.2, §9.10), so both follow that order.
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/weight_matrix.h"

namespace tf {

// An image (or video) as a grid of patches: t temporal groups of h × w patches.
struct ImageGrid {
  int64_t t = 1, h = 0, w = 0;
  int64_t patches() const { return t * h * w; }
  // Tokens after the m × m merger (one per merge block).
  int64_t merged_tokens(int64_t merge) const { return t * (h / merge) * (w / merge); }
  bool operator==(const ImageGrid&) const = default;
};

struct PatchCoord {
  int64_t row = 0, col = 0;
};

// (row, col) of every patch of one temporal group in merge-block order: for each block (bh, bw)
// in row-major order, the patches (2bh + i, 2bw + j) for i, j < merge, i slowest.
// Requires h and w to be multiples of `merge`.
std::vector<PatchCoord> merge_block_order(int64_t h, int64_t w, int64_t merge);

// out[p][hidden] = the learned side × side grid `table` ([side², hidden]) sampled bilinearly
// with align-corners at patch p's (row, col) of a grid.h × grid.w grid (source row
// r·(side−1)/(h−1), 0 when h = 1; the same for columns), patches in merge-block order, repeated
// for every temporal group: [grid.patches()][hidden].
void interpolate_position_embedding(const WeightMatrix& table, int64_t side, ImageGrid grid,
                                    int64_t merge, float* out);

// The vision 2-D rotary embedding for heads of `head_dim` (spec §4.4): head_dim/4 frequencies
// θ^(−2j/(head_dim/2)); angle d < head_dim/4 is row·inv_freq_d, the next head_dim/4 are
// col·inv_freq; pairs (d, d + head_dim/2) rotate by angle d (half-split over the whole head).
class VisionRope {
 public:
  explicit VisionRope(int head_dim, double theta = 10000.0);
  int half() const { return half_; }
  // cos / sin of the half() angles of a patch (computed in double, stored as float).
  void angles(PatchCoord p, float* cos, float* sin) const;
  // Rotates one head vector in place.
  void apply(float* head, const float* cos, const float* sin) const;

 private:
  int half_ = 0;
  std::vector<double> inv_freq_;  // head_dim / 4
};

}  // namespace tf
