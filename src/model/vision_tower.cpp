#include "model/vision_tower.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "kernels/ops.h"
#include "kernels/ops_attention.h"

namespace tf {

namespace {

// Rows per MLP step: bounds the [rows, intermediate] activation of a large image
// (a 4096² image has 65536 patches; 4304 floats each would be 1.1 GB at once).
constexpr int64_t kMlpRows = 1024;
constexpr float kLayerNormEps = 1e-6f;  // hard-coded in transformers' vision blocks (spec §4.5)

// y[rows][n] = W x + b.
void linear(const BiasedLinear& l, const float* x, int64_t rows, float* y, const Compute& c) {
  c.matmul(l.weight, x, rows, y);
  const int64_t n = l.weight.rows;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t i = 0; i < n; ++i) y[r * n + i] += l.bias[i];
}

void layer_norm_rows(const LayerNormWeights& w, const float* x, int64_t rows, int64_t n,
                     float* out) {
  for (int64_t r = 0; r < rows; ++r)
    layer_norm(x + r * n, w.weight.data(), w.bias.data(), n, kLayerNormEps, out + r * n);
}

// (T, row, col, C) order of an mlx-vlm patch-embedding weight from the HF (C, T, row, col)
// vector (spec §2.1 item 4): reorder the input instead of copying the weight.
void to_channel_last(const float* in, int64_t C, int64_t rest, float* out) {
  for (int64_t c = 0; c < C; ++c)
    for (int64_t k = 0; k < rest; ++k) out[k * C + c] = in[c * rest + k];
}

}  // namespace

int64_t vision_patch_dim(const VisionConfig& v) {
  return static_cast<int64_t>(v.in_channels) * v.temporal_patch_size * v.patch_size *
         v.patch_size;
}

VisionEncoding::VisionEncoding(const VisionWeights& weights, const VisionConfig& config,
                               std::vector<float> patches, ImageGrid grid)
    : weights_(&weights), config_(&config), grid_(grid), patches_(std::move(patches)) {
  if (grid.t <= 0 || grid.patches() == 0) throw std::invalid_argument("vision_forward: empty patch grid");
  // The rotary angles per patch of one temporal group (all groups share them, spec §4.4);
  // merge_block_order throws for a grid that is not a multiple of the merge size.
  const int64_t seg = grid.h * grid.w;
  const std::vector<PatchCoord> order = merge_block_order(grid.h, grid.w, config.spatial_merge_size);
  const VisionRope rope(static_cast<int>(config.hidden_size / config.num_heads));
  const int half = rope.half();
  cos_.resize(seg * half);
  sin_.resize(seg * half);
  for (int64_t p = 0; p < seg; ++p) rope.angles(order[p], cos_.data() + p * half, sin_.data() + p * half);
}

void VisionEncoding::step(const Compute& compute, const VisionTraceFn& trace) {
  if (done()) throw std::logic_error("VisionEncoding::step: the image is already encoded");
  const int blocks = static_cast<int>(weights_->blocks.size());
  if (stage_ == 0) {
    embed_patches(compute, trace);
  } else if (stage_ <= blocks) {
    block(static_cast<size_t>(stage_ - 1), compute, trace);
  } else {
    merge(compute, trace);
  }
  ++stage_;
}

// Patch embedding (spec §4.3) plus the interpolated learned positions.
void VisionEncoding::embed_patches(const Compute& compute, const VisionTraceFn& trace) {
  const VisionWeights& w = *weights_;
  const VisionConfig& v = *config_;
  const int64_t H = v.hidden_size, M = v.spatial_merge_size;
  const int64_t D = vision_patch_dim(v);
  const int64_t N = grid_.patches();
  x_.assign(N * H, 0.0f);
  y_.assign(N * H, 0.0f);
  if (w.patch_layout == PatchLayout::ChannelLast) {
    std::vector<float> reordered(N * D);
    for (int64_t p = 0; p < N; ++p)
      to_channel_last(patches_.data() + p * D, v.in_channels, D / v.in_channels, reordered.data() + p * D);
    linear(w.patch_embed, reordered.data(), N, x_.data(), compute);
  } else {
    linear(w.patch_embed, patches_.data(), N, x_.data(), compute);
  }
  patches_ = {};
  interpolate_position_embedding(w.pos_embed, w.pos_side, grid_, M, y_.data());
  for (int64_t i = 0; i < N * H; ++i) x_[i] += y_[i];
  if (trace) trace("patch_embed_plus_pos_embed", x_.data(), N, H);
}

// One pre-norm block: x += proj(attn(rope(qkv(LN₁ x)))); x += fc2(gelu_tanh(fc1(LN₂ x))).
void VisionEncoding::block(size_t j, const Compute& compute, const VisionTraceFn& trace) {
  const VisionBlockWeights& b = weights_->blocks[j];
  const VisionConfig& v = *config_;
  const int64_t H = v.hidden_size, I = v.intermediate_size;
  const int heads = v.num_heads;
  const int hd = static_cast<int>(H / heads);
  const int64_t N = grid_.patches();
  const int64_t seg = grid_.h * grid_.w;  // attention span: one temporal group
  const VisionRope rope(hd);
  const int half = rope.half();

  std::vector<float> qkv(N * 3 * H), attn(N * H), mlp(std::min(N, kMlpRows) * I);
  const int threads = compute.pool.num_threads();
  std::vector<std::vector<float>> scores(threads, std::vector<float>(seg));
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  // Attention tasks: (temporal group, head, block of queries).
  constexpr int64_t kQueryBlock = 16;
  const int64_t qblocks = (seg + kQueryBlock - 1) / kQueryBlock;

  layer_norm_rows(b.norm1, x_.data(), N, H, y_.data());
  linear(b.qkv, y_.data(), N, qkv.data(), compute);
  compute.run(N, 2 * H, [&](int64_t p, int) {
    const float* c = cos_.data() + (p % seg) * half;
    const float* s = sin_.data() + (p % seg) * half;
    float* row = qkv.data() + p * 3 * H;
    for (int h = 0; h < 2 * heads; ++h) rope.apply(row + h * hd, c, s);  // q heads, then k heads
  });
  compute.run(grid_.t * heads * qblocks, kQueryBlock * seg * hd * 2, [&](int64_t task, int th) {
    const int64_t g = task / (heads * qblocks);
    const int h = static_cast<int>(task / qblocks % heads);
    const int64_t q0 = task % qblocks * kQueryBlock, q1 = std::min(seg, q0 + kQueryBlock);
    const float* base = qkv.data() + g * seg * 3 * H;
    for (int64_t q = q0; q < q1; ++q)
      attend(base + q * 3 * H + h * hd, base + H + h * hd, base + 2 * H + h * hd, seg, 3 * H,
             hd, scale, scores[th].data(), attn.data() + (g * seg + q) * H + h * hd);
  });
  linear(b.proj, attn.data(), N, y_.data(), compute);
  for (int64_t i = 0; i < N * H; ++i) x_[i] += y_[i];

  layer_norm_rows(b.norm2, x_.data(), N, H, y_.data());
  for (int64_t r0 = 0; r0 < N; r0 += kMlpRows) {
    const int64_t rows = std::min(kMlpRows, N - r0);
    linear(b.fc1, y_.data() + r0 * H, rows, mlp.data(), compute);
    if (trace && rows == N) trace("block" + std::to_string(j) + "_fc1_preact", mlp.data(), N, I);
    gelu_tanh_inplace(mlp.data(), rows * I);
    linear(b.fc2, mlp.data(), rows, attn.data() + r0 * H, compute);  // attn: free here
  }
  for (int64_t i = 0; i < N * H; ++i) x_[i] += attn[i];
  if (trace) trace("block" + std::to_string(j) + "_out", x_.data(), N, H);
}

// Patch merger (spec §4.6): consecutive rows of one merge block form one M²·H vector.
void VisionEncoding::merge(const Compute& compute, const VisionTraceFn& trace) {
  const VisionWeights& w = *weights_;
  const VisionConfig& v = *config_;
  const int64_t H = v.hidden_size, M = v.spatial_merge_size;
  const int64_t N = grid_.patches();
  layer_norm_rows(w.merger_norm, x_.data(), N, H, y_.data());
  x_ = {};
  const int64_t tokens = N / (M * M), merged = M * M * H;
  std::vector<float> hidden(tokens * merged);
  linear(w.merger_fc1, y_.data(), tokens, hidden.data(), compute);
  y_ = {};
  if (trace) trace("merger_fc1_preact", hidden.data(), tokens, merged);
  gelu_erf_inplace(hidden.data(), tokens * merged);
  out_.assign(tokens * v.out_hidden_size, 0.0f);
  linear(w.merger_fc2, hidden.data(), tokens, out_.data(), compute);
  cos_ = {};
  sin_ = {};
}

void vision_forward(const VisionWeights& w, const VisionConfig& v, const float* patches,
                    ImageGrid grid, float* out, const Compute& compute,
                    const VisionTraceFn& trace) {
  VisionEncoding encoding(w, v, std::vector<float>(patches, patches + grid.patches() * vision_patch_dim(v)),
                          grid);
  while (!encoding.done()) encoding.step(compute, trace);
  std::copy(encoding.output().begin(), encoding.output().end(), out);
}

}  // namespace tf
