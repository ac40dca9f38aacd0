// A loaded Qwen3.5 text model: the mapped checkpoint, its config, the bound weight views and
// the thread pool every kernel call of its sessions uses. Immutable after load; the
// per-sequence state lives in Session (model/session.h).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "kernels/thread_pool.h"
#include "model/qwen35_weights.h"
#include "model/rope.h"
#include "storage/model_config.h"
#include "storage/safetensors.h"

namespace tf {

class Model {
 public:
  // Opens DIR (config.json + safetensors), binds every tensor and starts `threads` worker
  // threads (0 = one per hardware thread). Throws naming the file / tensor on any problem.
  static std::unique_ptr<Model> load(const std::string& dir, int threads = 0);
  // Same from parts already opened.
  Model(std::unique_ptr<Checkpoint> checkpoint, ModelConfig config, int threads);

  const ModelConfig& config() const { return config_; }
  const TextConfig& text() const { return config_.text; }
  const Qwen35Weights& weights() const { return weights_; }
  const Checkpoint& checkpoint() const { return *checkpoint_; }
  const MultimodalRope& rope() const { return rope_; }
  CheckpointFlavour flavour() const { return weights_.flavour; }
  int64_t vocab_size() const { return config_.text.vocab_size; }
  int64_t hidden_size() const { return config_.text.hidden_size; }

  // The pool is shared by all sessions of this model: run one session at a time.
  ThreadPool& pool() const { return *pool_; }

  // out[t] = embedding row of tokens[t] (dequantized when quantized), [tokens.size(), H].
  // Throws when an id is outside [0, vocab_size).
  void embed(std::span<const int32_t> tokens, float* out) const;

 private:
  std::unique_ptr<Checkpoint> checkpoint_;
  ModelConfig config_;
  Qwen35Weights weights_;
  MultimodalRope rope_;
  std::unique_ptr<ThreadPool> pool_;
};

}  // namespace tf
