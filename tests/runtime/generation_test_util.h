// Shared by the generation-loop and chat tests: the embedded demo model (models/tiny-random:
// the tiny random-weight fixture's weights with a 512-id cut of the Qwen3.5 tokenizer), loaded
// once per test program.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "model/model.h"
#include "runtime/generator.h"
#include "tokenizer/tokenizer_config.h"

namespace tf::test {

// The repository's embedded model; its weights are a link into tests/data.
inline std::string tiny_random_dir() {
  return std::string(TIGHTFIT_TEST_DATA) + "/../../models/tiny-random";
}

struct TinyRandom {
  std::unique_ptr<Model> model;
  std::unique_ptr<tokenizer::ModelTokenizer> tokenizer;
};

inline const TinyRandom& tiny_random() {
  static const TinyRandom* m = [] {
    auto* t = new TinyRandom;
    t->model = Model::load(tiny_random_dir(), 1);
    t->tokenizer = std::make_unique<tokenizer::ModelTokenizer>(
        tokenizer::ModelTokenizer::load(tiny_random_dir()));
    return t;
  }();
  return *m;
}

// Ids of the tiny tokenizer (scripts/make_tiny_tokenizer.py).
inline constexpr int32_t kEndOfText = 499, kThink = 509, kEndThink = 510, kImEnd = 511;
inline constexpr int32_t kLetterA = 64;  // "a"

// Greedy, no EOS (so runs last exactly max_tokens unless something else stops them).
inline GenerationParams greedy_params(int max_tokens) {
  GenerationParams p;
  p.sampler.temperature = 0;
  p.max_tokens = max_tokens;
  p.eos_token_ids = {kImEnd, kEndOfText};
  p.sampler.logit_bias = {{kImEnd, -1000.0f}, {kEndOfText, -1000.0f}};
  return p;
}

}  // namespace tf::test
