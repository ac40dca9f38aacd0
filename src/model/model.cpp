#include "model/model.h"

#include <stdexcept>

#include "kernels/linear.h"
#include "model/vision_tower.h"

namespace tf {

namespace {

// The rope helper needs a full-attention config; pure linear-attention stacks get a dummy.
TextConfig rope_config(const TextConfig& c) {
  for (LayerType t : c.layer_types)
    if (t == LayerType::FullAttention) return c;
  TextConfig dummy = c;
  dummy.head_dim = 2;
  dummy.partial_rotary_factor = 1.0f;
  dummy.mrope_section.clear();
  return dummy;
}

}  // namespace

std::unique_ptr<Model> Model::load(const std::string& dir, int threads,
                                   ModelLoadOptions options) {
  ModelConfig config = ModelConfig::load(dir);
  auto checkpoint = Checkpoint::open(dir);
  return std::make_unique<Model>(std::move(checkpoint), std::move(config), threads, options);
}

Model::Model(std::unique_ptr<Checkpoint> checkpoint, ModelConfig config, int threads,
             ModelLoadOptions options)
    : checkpoint_(std::move(checkpoint)),
      config_(std::move(config)),
      weights_(Qwen35Weights::bind(*checkpoint_, config_)),
      rope_(rope_config(config_.text)),
      pool_(std::make_unique<ThreadPool>(threads)) {
  if (options.mtp) mtp_ = MtpWeights::bind(*checkpoint_, config_, weights_.flavour);
  const InterleavedMatrices which =
      options.interleave_weights ? interleaved_matrices_for(options.precision) : InterleavedMatrices::None;
  if (which != InterleavedMatrices::None) {
    std::vector<LayerWeights*> layers;
    for (LayerWeights& layer : weights_.layers) layers.push_back(&layer);
    if (mtp_) layers.push_back(&mtp_->layer);
    std::vector<WeightMatrix*> matrices;
    // The routed experts projection by projection, so that each stacked tensor's experts are
    // consecutive (their originals are released in whole ranges).
    for (LayerWeights* layer : layers) {
      if (!layer->is_moe) continue;
      for (WeightMatrix SwiGluWeights::*projection : {&SwiGluWeights::gate, &SwiGluWeights::up, &SwiGluWeights::down})
        for (SwiGluWeights& e : layer->moe.experts) matrices.push_back(&(e.*projection));
    }
    if (which == InterleavedMatrices::All) {
      // Every other matrix a matmul reads; not the embedding (read a row at a time), nor the
      // head when it is the embedding (tied).
      for (LayerWeights* layer : layers) {
        for (WeightMatrix* w : {&layer->gdn.in_proj_qkv, &layer->gdn.in_proj_z, &layer->gdn.in_proj_b,
                                &layer->gdn.in_proj_a, &layer->gdn.out_proj, &layer->attn.q_proj,
                                &layer->attn.k_proj, &layer->attn.v_proj, &layer->attn.o_proj,
                                &layer->mlp.gate, &layer->mlp.up, &layer->mlp.down,
                                &layer->moe.shared_expert.gate, &layer->moe.shared_expert.up,
                                &layer->moe.shared_expert.down})
          if (w->quantized()) matrices.push_back(w);
      }
      if (mtp_ && mtp_->fc.quantized()) matrices.push_back(&mtp_->fc);
      if (weights_.lm_head.quantized() && weights_.lm_head.data != weights_.embed.data)
        matrices.push_back(&weights_.lm_head);
    }
    interleaved_ = InterleavedWeights::make(matrices, *pool_);
  }
  if (!options.vision) return;
  try {
    vision_ = VisionWeights::bind(*checkpoint_, config_);
  } catch (const std::exception& e) {
    vision_error_ = e.what();
  }
}

void Model::check_tokens(std::span<const int32_t> tokens) const {
  for (const int32_t id : tokens)
    if (id < 0 || id >= vocab_size())
      throw std::out_of_range("token id " + std::to_string(id) + " is outside the vocabulary [0, " +
                              std::to_string(vocab_size()) + ")");
}

void Model::embed(std::span<const int32_t> tokens, float* out) const {
  check_tokens(tokens);
  const int64_t H = hidden_size();
  for (size_t t = 0; t < tokens.size(); ++t)
    dequantize_rows(weights_.embed, tokens[t], 1, out + static_cast<int64_t>(t) * H);
}

}  // namespace tf

namespace tf {

VisionEncoding Model::start_image_encoding(std::vector<float> patches, ImageGrid grid) const {
  if (!vision_)
    throw std::logic_error(!vision_error_.empty()
                               ? "the model's vision tower cannot be used: " + vision_error_
                               : "this model has no vision tower (config.json has no "
                                 "vision_config, or the checkpoint no vision tensors): it "
                                 "cannot take images");
  const VisionConfig& v = *config_.vision;
  const int64_t dim = vision_patch_dim(v);
  if (static_cast<int64_t>(patches.size()) != grid.patches() * dim)
    throw std::invalid_argument("encode_image: " + std::to_string(patches.size()) +
                                " values for " + std::to_string(grid.patches()) +
                                " patches of " + std::to_string(dim));
  return VisionEncoding(*vision_, v, std::move(patches), grid);
}

void Model::run_stage(VisionEncoding& encoding) const {
  // Dense vision weights always run in float32; quantized ones too (the tower is small next to
  // the text model and runs once per image).
  const Compute compute{*pool_, ActivationPrecision::F32};
  encoding.step(compute);
}

std::vector<float> Model::encode_image(std::span<const float> patches, ImageGrid grid) const {
  VisionEncoding encoding = start_image_encoding({patches.begin(), patches.end()}, grid);
  while (!encoding.done()) run_stage(encoding);
  return std::move(encoding.output());
}

}  // namespace tf
