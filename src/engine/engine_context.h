// What every part of the engine reads and nobody changes after Engine::load: the loaded model
// and tokenizer, the options as resolved (context length, KV type and group, activations), the
// memory plan requests are checked against, the ids that end a turn and the API's ModelInfo.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "kernels/linear.h"
#include "kernels/ops_attention.h"
#include "model/draft_vocabulary.h"
#include "runtime/loaded_model.h"
#include "runtime/token_mask.h"
#include "tightfit/plan.h"
#include "tightfit/tightfit.h"

namespace tightfit {

struct EngineContext {
  EngineOptions options;
  tf::LoadedModel loaded;
  tf::KVType kv_type = tf::KVType::F16;
  int kv_group_size = 64;             // quantized KV types: elements per scale and bias
  // The memory plan at Engine::load (include/tightfit/plan.h): submit refuses a request whose
  // prompt + max_tokens cannot fit its limit (OutOfMemory) instead of an OOM kill half-way; the
  // scheduler admits requests while their KV fits beside the running ones
  // (engine/memory_budget.h).
  MemoryPlan plan;
  int64_t memory_tokens = 0;          // KV tokens the limit holds (plan.max_tokens())
  tf::ActivationPrecision precision = tf::ActivationPrecision::F32;
  int64_t context = 0;                // tokens a sequence holds (Sequence capacity)
  bool context_from_memory = false;   // the default context was cut to memory_tokens
  std::vector<int32_t> eos_token_ids;
  int32_t sampled_vocab = 0;          // ids the sampler may pick (real tokenizer ids)
  std::vector<int32_t> think_end;     // "</think>\n\n": what a thinking budget feeds
  // EngineOptions::draft_vocab's reduced draft vocabulary; null: draft over every token.
  std::shared_ptr<const tf::DraftVocabulary> draft_vocabulary;
  ModelInfo info;

  const tf::Model& model() const { return *loaded.model; }
  const tf::tokenizer::Tokenizer& tokenizer() const { return loaded.tokenizer->tokenizer; }

  // The vocabulary as bytes for constrained sampling, built by the first request that needs
  // it (about 0.15 s of CPU for 248K tokens; requests without a constraint never pay it).
  const tf::TokenMask& token_mask() const {
    std::call_once(token_mask_once_, [&] {
      token_mask_ = std::make_unique<const tf::TokenMask>(tokenizer(), sampled_vocab);
    });
    return *token_mask_;
  }

 private:
  mutable std::once_flag token_mask_once_;
  mutable std::unique_ptr<const tf::TokenMask> token_mask_;
};

// Runs `f`, turning the lower layers' exceptions into the API's kinds: tf::ModelNotFoundError →
// ModelNotFound; tf::InputError, std::invalid_argument, std::out_of_range and template errors
// raised by the request → InvalidRequest (with `param`); tightfit::Error passes through.
template <typename F>
auto as_api_errors(const char* param, F&& f) -> decltype(f());

}  // namespace tightfit

#include "engine/api_errors-inl.h"
