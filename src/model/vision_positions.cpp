#include "model/vision_positions.h"

#include <cmath>
#include <stdexcept>

#include "kernels/linear.h"
#include "kernels/ops.h"

namespace tf {

std::vector<PatchCoord> merge_block_order(int64_t h, int64_t w, int64_t merge) {
  if (merge <= 0 || h % merge != 0 || w % merge != 0)
    throw std::invalid_argument("patch grid " + std::to_string(h) + "×" + std::to_string(w) +
                                " is not a multiple of the merge size " + std::to_string(merge));
  std::vector<PatchCoord> out;
  out.reserve(static_cast<size_t>(h * w));
  for (int64_t bh = 0; bh < h / merge; ++bh)
    for (int64_t bw = 0; bw < w / merge; ++bw)
      for (int64_t i = 0; i < merge; ++i)
        for (int64_t j = 0; j < merge; ++j) out.push_back({bh * merge + i, bw * merge + j});
  return out;
}

namespace {

// Align-corners sampling along one axis of `side` learned positions for `n` patches.
struct AxisSample {
  int64_t lo, hi;
  double frac;
};

AxisSample sample_axis(int64_t index, int64_t n, int64_t side) {
  const double src = n > 1 ? static_cast<double>(index) * static_cast<double>(side - 1) /
                                 static_cast<double>(n - 1)
                           : 0.0;
  const auto lo = static_cast<int64_t>(std::floor(src));
  return {lo, std::min(lo + 1, side - 1), src - static_cast<double>(lo)};
}

}  // namespace

void interpolate_position_embedding(const WeightMatrix& table, int64_t side, ImageGrid grid,
                                    int64_t merge, float* out) {
  const int64_t H = table.cols;
  if (table.rows != side * side)
    throw std::invalid_argument("position table has " + std::to_string(table.rows) +
                                " rows, not " + std::to_string(side) + "²");
  const std::vector<PatchCoord> order = merge_block_order(grid.h, grid.w, merge);
  // The four corner rows of one patch, dequantized (the table may be BF16 or quantized).
  std::vector<float> corners(4 * H);
  std::vector<double> acc(H);
  const int64_t per_group = grid.h * grid.w;
  for (int64_t p = 0; p < per_group; ++p) {
    const AxisSample r = sample_axis(order[p].row, grid.h, side);
    const AxisSample c = sample_axis(order[p].col, grid.w, side);
    const int64_t idx[4] = {r.lo * side + c.lo, r.lo * side + c.hi, r.hi * side + c.lo,
                            r.hi * side + c.hi};
    const double wt[4] = {(1 - r.frac) * (1 - c.frac), (1 - r.frac) * c.frac,
                          r.frac * (1 - c.frac), r.frac * c.frac};
    for (int k = 0; k < 4; ++k) dequantize_rows(table, idx[k], 1, corners.data() + k * H);
    for (int64_t d = 0; d < H; ++d) {
      double v = 0;
      for (int k = 0; k < 4; ++k) v += wt[k] * corners[k * H + d];
      out[p * H + d] = static_cast<float>(v);
    }
  }
  for (int64_t g = 1; g < grid.t; ++g)
    std::copy(out, out + per_group * H, out + g * per_group * H);
}

VisionRope::VisionRope(int head_dim, double theta) {
  if (head_dim <= 0 || head_dim % 4 != 0)
    throw std::invalid_argument("vision head dim " + std::to_string(head_dim) +
                                " is not a positive multiple of 4");
  half_ = head_dim / 2;
  const int freqs = head_dim / 4;
  inv_freq_.resize(freqs);
  for (int j = 0; j < freqs; ++j)
    inv_freq_[j] = std::pow(theta, -2.0 * j / static_cast<double>(half_));
}

void VisionRope::angles(PatchCoord p, float* cos, float* sin) const {
  const int freqs = static_cast<int>(inv_freq_.size());
  for (int d = 0; d < half_; ++d) {
    const double a = d < freqs ? static_cast<double>(p.row) * inv_freq_[d]
                               : static_cast<double>(p.col) * inv_freq_[d - freqs];
    cos[d] = static_cast<float>(std::cos(a));
    sin[d] = static_cast<float>(std::sin(a));
  }
}

void VisionRope::apply(float* head, const float* cos, const float* sin) const {
  rope_half_split(head, half_, cos, sin);
}

}  // namespace tf
