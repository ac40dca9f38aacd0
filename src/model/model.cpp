#include "model/model.h"

#include <stdexcept>

#include "kernels/linear.h"

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

std::unique_ptr<Model> Model::load(const std::string& dir, int threads) {
  ModelConfig config = ModelConfig::load(dir);
  auto checkpoint = Checkpoint::open(dir);
  return std::make_unique<Model>(std::move(checkpoint), std::move(config), threads);
}

Model::Model(std::unique_ptr<Checkpoint> checkpoint, ModelConfig config, int threads)
    : checkpoint_(std::move(checkpoint)),
      config_(std::move(config)),
      weights_(Qwen35Weights::bind(*checkpoint_, config_)),
      rope_(rope_config(config_.text)),
      pool_(std::make_unique<ThreadPool>(threads)) {}

void Model::embed(std::span<const int32_t> tokens, float* out) const {
  const int64_t H = hidden_size();
  for (size_t t = 0; t < tokens.size(); ++t) {
    const int32_t id = tokens[t];
    if (id < 0 || id >= vocab_size())
      throw std::out_of_range("token id " + std::to_string(id) + " is outside the vocabulary [0, " +
                              std::to_string(vocab_size()) + ")");
    dequantize_rows(weights_.embed, id, 1, out + static_cast<int64_t>(t) * H);
  }
}

}  // namespace tf
