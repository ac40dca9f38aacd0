#include "model/vision_weights.h"

#include <cmath>
#include <stdexcept>

#include "storage/tensor_names.h"

namespace tf {

namespace {

// Vision prefixes by flavour (spec §2.1): HF, HF nested under the language model, mlx-vlm.
const char* const kPrefixes[] = {"model.visual.", "model.language_model.visual.", "vision_tower."};

void check_config(const VisionConfig& v, const TextConfig& text) {
  auto bad = [](const std::string& what) {
    throw std::runtime_error("config.json: vision_config: " + what);
  };
  if (v.depth <= 0 || v.hidden_size <= 0 || v.num_heads <= 0 || v.intermediate_size <= 0)
    bad("depth, hidden_size, num_heads and intermediate_size must be positive");
  if (v.hidden_size % v.num_heads != 0) bad("hidden_size must be a multiple of num_heads");
  // The 2-D rotary splits each head into row and column halves of head_dim/4 frequencies.
  if ((v.hidden_size / v.num_heads) % 4 != 0) bad("head dim (hidden_size / num_heads) must be a multiple of 4");
  if (v.in_channels <= 0 || v.patch_size <= 0 || v.temporal_patch_size <= 0 ||
      v.spatial_merge_size <= 0)
    bad("in_channels, patch_size, temporal_patch_size and spatial_merge_size must be positive");
  const auto side = static_cast<int64_t>(std::llround(std::sqrt(v.num_position_embeddings)));
  if (v.num_position_embeddings <= 0 || side * side != v.num_position_embeddings)
    bad("num_position_embeddings (" + std::to_string(v.num_position_embeddings) +
        ") must be a square: the learned grid is side × side");
  if (!v.deepstack_visual_indexes.empty())
    bad("deepstack_visual_indexes is not empty: deepstack (Qwen3-VL) is not supported, Qwen3.5 "
        "has none");
  if (v.out_hidden_size != text.hidden_size)
    bad("out_hidden_size " + std::to_string(v.out_hidden_size) +
        " differs from the text hidden_size " + std::to_string(text.hidden_size));
}

LayerNormWeights layer_norm(TensorBinder& b, const std::string& name, int64_t n) {
  return {b.vector(name + ".weight", std::vector<int64_t>{n}),
          b.vector(name + ".bias", std::vector<int64_t>{n})};
}

}  // namespace

std::string vision_tensor_prefix(const Checkpoint& checkpoint) {
  for (const char* p : kPrefixes)
    for (const auto& n : checkpoint.names())
      if (starts_with(n, p)) return p;
  return "";
}

std::optional<VisionWeights> VisionWeights::bind(const Checkpoint& ck, const ModelConfig& config) {
  const std::string prefix = vision_tensor_prefix(ck);
  if (prefix.empty() || !config.vision) return std::nullopt;
  const VisionConfig& v = *config.vision;
  check_config(v, config.text);
  TensorBinder b(ck, config.quantization ? &*config.quantization : nullptr);

  VisionWeights w;
  w.prefix = prefix;
  const int64_t H = v.hidden_size, I = v.intermediate_size, C = v.in_channels,
                T = v.temporal_patch_size, P = v.patch_size, M = v.spatial_merge_size;

  // Patch embedding: a Conv3d with stride = kernel, i.e. one [H, C·T·P·P] matrix (spec §4.3).
  const std::string pe = prefix + "patch_embed.proj.weight";
  const TensorView* t = ck.find(pe);
  if (!t)
    throw std::runtime_error("checkpoint " + ck.dir() + ": tensor " + pe +
                             ": missing (the vision tower is incomplete)");
  const std::vector<int64_t> hf_shape{H, C, T, P, P}, mlx_shape{H, T, P, P, C};
  if (t->shape == hf_shape && !(t->shape == mlx_shape && prefix == "vision_tower.")) {
    w.patch_layout = PatchLayout::ChannelFirst;
  } else if (t->shape == mlx_shape) {
    w.patch_layout = PatchLayout::ChannelLast;
  } else {
    throw std::runtime_error("checkpoint " + ck.dir() + ": tensor " + pe + ": shape " +
                             shape_to_string(t->shape) + ", expected " +
                             shape_to_string(hf_shape) + " (Hugging Face) or " +
                             shape_to_string(mlx_shape) + " (mlx-vlm)");
  }
  if (!is_float_dtype(t->dtype))
    throw std::runtime_error("checkpoint " + ck.dir() + ": tensor " + pe + ": dtype " +
                             std::string(dtype_name(t->dtype)) + " is not a float type (F32, F16, BF16)");
  b.mark_used(pe);
  w.patch_embed.weight.format = WeightMatrix::Format::Dense;
  w.patch_embed.weight.dtype = t->dtype;
  w.patch_embed.weight.rows = H;
  w.patch_embed.weight.cols = C * T * P * P;
  w.patch_embed.weight.data = t->data;
  w.patch_embed.bias = b.vector(prefix + "patch_embed.proj.bias", std::vector<int64_t>{H});

  w.pos_side = static_cast<int64_t>(std::llround(std::sqrt(v.num_position_embeddings)));
  w.pos_embed = b.linear(prefix + "pos_embed", {}, v.num_position_embeddings, H);

  w.blocks.resize(v.depth);
  for (int j = 0; j < v.depth; ++j) {
    const std::string k = prefix + "blocks." + std::to_string(j) + ".";
    VisionBlockWeights& bw = w.blocks[j];
    bw.norm1 = layer_norm(b, k + "norm1", H);
    bw.norm2 = layer_norm(b, k + "norm2", H);
    bw.qkv = b.biased_linear(k + "attn.qkv", 3 * H, H);
    bw.proj = b.biased_linear(k + "attn.proj", H, H);
    bw.fc1 = b.biased_linear(k + "mlp.linear_fc1", I, H);
    bw.fc2 = b.biased_linear(k + "mlp.linear_fc2", H, I);
  }
  const int64_t merged = M * M * H;
  w.merger_norm = layer_norm(b, prefix + "merger.norm", H);
  w.merger_fc1 = b.biased_linear(prefix + "merger.linear_fc1", merged, merged);
  w.merger_fc2 = b.biased_linear(prefix + "merger.linear_fc2", v.out_hidden_size, merged);

  for (const auto& n : b.unused_with_prefix(prefix)) {
    if (ends_with(n, "position_ids") || ends_with(n, "inv_freq")) continue;  // buffers
    throw std::runtime_error("checkpoint " + ck.dir() + ": tensor " + n +
                             " is not part of the vision tower config.json describes (depth " +
                             std::to_string(v.depth) + "; deepstack mergers are not supported)");
  }
  return w;
}

}  // namespace tf
