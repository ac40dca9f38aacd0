// A loaded Qwen3.5 text model: the mapped checkpoint, its config, the bound weight views and
// the thread pool every kernel call of its forward passes uses. Immutable after load; the
// per-sequence state lives in Sequence (model/sequence.h).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <optional>
#include <string>
#include <vector>

#include "kernels/linear.h"
#include "kernels/thread_pool.h"
#include "model/interleaved_weights.h"
#include "model/mtp_weights.h"
#include "model/qwen35_weights.h"
#include "model/rope.h"
#include "model/vision_positions.h"
#include "model/vision_tower.h"
#include "model/vision_weights.h"
#include "storage/model_config.h"
#include "storage/safetensors.h"

namespace tf {

struct ModelLoadOptions {
  // Bind the vision tower when the checkpoint has one (views only: no copy, nothing read from
  // the big tensors until an image is encoded). false: a text-only model even if it has one.
  bool vision = true;
  // Bind the multi-token-prediction head when the checkpoint has one (model/mtp_weights.h),
  // for speculative decoding. false: the head's tensors are ignored.
  bool mtp = true;
  // The precision the model's forward passes will run at: with Int8 on a CPU with the
  // interleaved kernel, the 2- and 3-bit matrices are re-laid out for it at load
  // (model/interleaved_weights.h). A forward pass at another precision still works on them,
  // slowly.
  ActivationPrecision precision = default_activation_precision();
  // false: every matrix keeps the checkpoint's layout whatever the precision and CPU.
  bool interleave_weights = true;
};

class Model {
 public:
  // Opens DIR (config.json + safetensors), binds every tensor and starts `threads` worker
  // threads (0 = one per hardware thread). Throws naming the file / tensor on any problem.
  static std::unique_ptr<Model> load(const std::string& dir, int threads = 0,
                                     ModelLoadOptions options = {});
  // Same from parts already opened.
  Model(std::unique_ptr<Checkpoint> checkpoint, ModelConfig config, int threads,
        ModelLoadOptions options = {});

  const ModelConfig& config() const { return config_; }
  const TextConfig& text() const { return config_.text; }
  const Qwen35Weights& weights() const { return weights_; }
  const Checkpoint& checkpoint() const { return *checkpoint_; }
  const MultimodalRope& rope() const { return rope_; }
  // Bytes of weights held in anonymous memory, re-laid out at load for the Int8 kernel
  // (model/interleaved_weights.h); 0 when every matrix is read from the mapped checkpoint.
  size_t interleaved_bytes() const { return interleaved_.bytes(); }
  CheckpointFlavour flavour() const { return weights_.flavour; }
  int64_t vocab_size() const { return config_.text.vocab_size; }
  int64_t hidden_size() const { return config_.text.hidden_size; }

  // The pool is shared by every forward pass of this model: run one at a time (several
  // sequences go through one ForwardPass::run together, model/forward_pass.h).
  ThreadPool& pool() const { return *pool_; }

  // out[t] = embedding row of tokens[t] (dequantized when quantized), [tokens.size(), H].
  // Throws when an id is outside [0, vocab_size) (check_tokens), before writing anything.
  void embed(std::span<const int32_t> tokens, float* out) const;
  // Throws std::out_of_range naming the first id outside [0, vocab_size).
  void check_tokens(std::span<const int32_t> tokens) const;

  // The MTP head (docs/model.md §10), or nullptr when the checkpoint has none (or it was not
  // asked for).
  const MtpWeights* mtp() const { return mtp_ ? &*mtp_ : nullptr; }

  // Vision (spec §4): bound when config.json has a vision_config, the checkpoint has the
  // tensors and ModelLoadOptions::vision is set. A tower that cannot be bound (incomplete,
  // unsupported variant) does not stop the text model from loading: has_vision() is false and
  // vision_error() says why (encode_image throws with that message).
  bool has_vision() const { return vision_.has_value(); }
  const std::string& vision_error() const { return vision_error_; }
  const VisionWeights* vision_weights() const { return vision_ ? &*vision_ : nullptr; }
  const VisionConfig* vision_config() const { return vision_ ? &*config_.vision : nullptr; }
  // Image embeddings [grid.merged_tokens(merge)][hidden] of one image's patch vectors
  // ([grid.patches()][C·T·P·P], merge-block order, HF (C, T, row, col) order within a vector).
  // Throws std::logic_error when the model has no vision tower.
  std::vector<float> encode_image(std::span<const float> patches, ImageGrid grid) const;
  // The same a stage at a time (model/vision_tower.h): start, then run_stage until done(); the
  // embeddings are then in output(). The model must outlive the encoding.
  VisionEncoding start_image_encoding(std::vector<float> patches, ImageGrid grid) const;
  void run_stage(VisionEncoding& encoding) const;

 private:
  std::unique_ptr<Checkpoint> checkpoint_;
  ModelConfig config_;
  Qwen35Weights weights_;
  std::optional<MtpWeights> mtp_;
  std::optional<VisionWeights> vision_;
  std::string vision_error_;
  MultimodalRope rope_;
  std::unique_ptr<ThreadPool> pool_;
  InterleavedWeights interleaved_;  // what weights_' and mtp_'s interleaved views point into
};

}  // namespace tf
