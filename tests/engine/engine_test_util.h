// Shared by the engine tests: engines on the embedded demo model (models/tiny-random, random
// weights and a 512-id cut of the Qwen3.5 tokenizer), so the tests check mechanics, not text.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "tightfit/tightfit.h"

namespace tightfit::test {

inline std::string tiny_random_dir() {
  return std::string(TIGHTFIT_TEST_DATA) + "/../../models/tiny-random";
}

// Ids of the tiny tokenizer (scripts/make_tiny_tokenizer.py).
inline constexpr int32_t kEndOfText = 499, kThink = 509, kEndThink = 510, kImEnd = 511;

inline std::unique_ptr<Engine> tiny_engine(EngineOptions options = {}) {
  options.model = tiny_random_dir();
  if (options.threads == 0) options.threads = 2;
  return Engine::load(std::move(options));
}

// Greedy with EOS banned: a run lasts exactly max_tokens unless something else stops it.
inline Request greedy_request(std::string prompt, int max_tokens) {
  Request r;
  r.prompt = std::move(prompt);
  r.max_tokens = max_tokens;
  r.sampling.temperature = 0;
  r.sampling.logit_bias = {{kImEnd, -1000.0f}, {kEndOfText, -1000.0f}};
  return r;
}

inline Request chat_request(std::vector<Message> messages, int max_tokens) {
  Request r;
  r.messages = std::move(messages);
  r.max_tokens = max_tokens;
  r.sampling.temperature = 0;
  r.sampling.logit_bias = {{kImEnd, -1000.0f}, {kEndOfText, -1000.0f}};
  return r;
}

}  // namespace tightfit::test
