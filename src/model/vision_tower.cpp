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

void vision_forward(const VisionWeights& w, const VisionConfig& v, const float* patches,
                    ImageGrid grid, float* out, const Compute& compute,
                    const VisionTraceFn& trace) {
  const int64_t H = v.hidden_size, I = v.intermediate_size, M = v.spatial_merge_size;
  const int heads = v.num_heads;
  const int hd = static_cast<int>(H / heads);
  const int64_t D = vision_patch_dim(v);
  const int64_t N = grid.patches();
  const int64_t seg = grid.h * grid.w;  // attention span: one temporal group
  const std::vector<PatchCoord> order = merge_block_order(grid.h, grid.w, M);
  if (grid.t <= 0 || N == 0) throw std::invalid_argument("vision_forward: empty patch grid");
  auto emit = [&](const std::string& name, const float* data, int64_t rows, int64_t cols) {
    if (trace) trace(name, data, rows, cols);
  };

  // Patch embedding (spec §4.3) plus the interpolated learned positions.
  std::vector<float> x(N * H), y(N * H);
  if (w.patch_layout == PatchLayout::ChannelLast) {
    std::vector<float> reordered(N * D);
    for (int64_t p = 0; p < N; ++p)
      to_channel_last(patches + p * D, v.in_channels, D / v.in_channels, reordered.data() + p * D);
    linear(w.patch_embed, reordered.data(), N, x.data(), compute);
  } else {
    linear(w.patch_embed, patches, N, x.data(), compute);
  }
  interpolate_position_embedding(w.pos_embed, w.pos_side, grid, M, y.data());
  for (int64_t i = 0; i < N * H; ++i) x[i] += y[i];
  emit("patch_embed_plus_pos_embed", x.data(), N, H);

  // Rotary angles per patch of one temporal group (all groups share them, spec §4.4).
  const VisionRope rope(hd);
  const int half = rope.half();
  std::vector<float> cos(seg * half), sin(seg * half);
  for (int64_t p = 0; p < seg; ++p) rope.angles(order[p], cos.data() + p * half, sin.data() + p * half);

  std::vector<float> qkv(N * 3 * H), attn(N * H), mlp(std::min(N, kMlpRows) * I);
  const int threads = compute.pool.num_threads();
  std::vector<std::vector<float>> scores(threads, std::vector<float>(seg));
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  // Attention tasks: (temporal group, head, block of queries).
  constexpr int64_t kQueryBlock = 16;
  const int64_t qblocks = (seg + kQueryBlock - 1) / kQueryBlock;

  for (size_t j = 0; j < w.blocks.size(); ++j) {
    const VisionBlockWeights& b = w.blocks[j];
    layer_norm_rows(b.norm1, x.data(), N, H, y.data());
    linear(b.qkv, y.data(), N, qkv.data(), compute);
    compute.run(N, 2 * H, [&](int64_t p, int) {
      const float* c = cos.data() + (p % seg) * half;
      const float* s = sin.data() + (p % seg) * half;
      float* row = qkv.data() + p * 3 * H;
      for (int h = 0; h < 2 * heads; ++h) rope.apply(row + h * hd, c, s);  // q heads, then k heads
    });
    compute.run(grid.t * heads * qblocks, kQueryBlock * seg * hd * 2, [&](int64_t task, int th) {
      const int64_t g = task / (heads * qblocks);
      const int h = static_cast<int>(task / qblocks % heads);
      const int64_t q0 = task % qblocks * kQueryBlock, q1 = std::min(seg, q0 + kQueryBlock);
      const float* base = qkv.data() + g * seg * 3 * H;
      for (int64_t q = q0; q < q1; ++q)
        attend(base + q * 3 * H + h * hd, base + H + h * hd, base + 2 * H + h * hd, seg, 3 * H,
               hd, scale, scores[th].data(), attn.data() + (g * seg + q) * H + h * hd);
    });
    linear(b.proj, attn.data(), N, y.data(), compute);
    for (int64_t i = 0; i < N * H; ++i) x[i] += y[i];

    layer_norm_rows(b.norm2, x.data(), N, H, y.data());
    for (int64_t r0 = 0; r0 < N; r0 += kMlpRows) {
      const int64_t rows = std::min(kMlpRows, N - r0);
      linear(b.fc1, y.data() + r0 * H, rows, mlp.data(), compute);
      if (trace && rows == N) emit("block" + std::to_string(j) + "_fc1_preact", mlp.data(), N, I);
      gelu_tanh_inplace(mlp.data(), rows * I);
      linear(b.fc2, mlp.data(), rows, attn.data() + r0 * H, compute);  // attn: free here
    }
    for (int64_t i = 0; i < N * H; ++i) x[i] += attn[i];
    emit("block" + std::to_string(j) + "_out", x.data(), N, H);
  }

  // Patch merger (spec §4.6): consecutive rows of one merge block form one M²·H vector.
  layer_norm_rows(w.merger_norm, x.data(), N, H, y.data());
  const int64_t tokens = N / (M * M), merged = M * M * H;
  std::vector<float> hidden(tokens * merged);
  linear(w.merger_fc1, y.data(), tokens, hidden.data(), compute);
  emit("merger_fc1_preact", hidden.data(), tokens, merged);
  gelu_erf_inplace(hidden.data(), tokens * merged);
  linear(w.merger_fc2, hidden.data(), tokens, out, compute);
}

}  // namespace tf
