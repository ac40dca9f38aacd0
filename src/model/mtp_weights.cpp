#include "model/mtp_weights.h"

#include <stdexcept>

#include "model/tensor_binder.h"

namespace tf {

std::optional<MtpWeights> MtpWeights::bind(const Checkpoint& ck, const ModelConfig& config,
                                           CheckpointFlavour flavour) {
  if (!ck.has("mtp.fc.weight")) return std::nullopt;
  const TextConfig& c = config.text;
  TensorBinder b(ck, config.quantization ? &*config.quantization : nullptr);
  // Zero-centred norms (docs/model.md §10.3, §10.8 item 3): HF stores w, converted MLX files
  // 1 + w.
  const float norm_offset = flavour == CheckpointFlavour::HuggingFace ? 1.0f : 0.0f;
  auto zero_centred_norm = [&](const std::string& name) {
    std::vector<float> v = b.vector(name, std::vector<int64_t>{c.hidden_size});
    for (float& x : v) x += norm_offset;
    return v;
  };
  const int64_t H = c.hidden_size;
  MtpWeights w;
  w.fc = b.linear("mtp.fc", {}, H, 2 * H);
  w.pre_fc_norm_embedding = zero_centred_norm("mtp.pre_fc_norm_embedding.weight");
  w.pre_fc_norm_hidden = zero_centred_norm("mtp.pre_fc_norm_hidden.weight");
  w.norm = zero_centred_norm("mtp.norm.weight");
  // The layer is a main full-attention layer with the main MoE block (§1): no config fields of
  // its own. A dense Qwen3.5 has a dense MLP there.
  w.layer = bind_decoder_layer(b, "mtp.layers.0.", LayerType::FullAttention, c.num_experts > 0,
                               c, norm_offset);
  for (const auto& n : b.unused_with_prefix("mtp."))
    throw std::runtime_error("checkpoint " + ck.dir() + ": tensor " + n +
                             " is not part of a one-layer Qwen3.5 MTP head (only "
                             "mtp_num_hidden_layers = 1 is supported)");
  return w;
}

}  // namespace tf
