// Picks the next token from one row of logits.
//
// Order of the steps (see Sampler::distribution):
//   1. check_logits: NaN / +inf → error; ids >= vocab_size (padding rows, spec §3.8) are masked.
//   2. logit bias, then repetition penalty, then presence and frequency penalties. This is
//      mlx-lm's make_logits_processors order (logit_bias first, then repetition → presence →
//      frequency); transformers also applies its repetition penalty as a logits *processor*,
//      before any warper. Penalties act on the last N tokens (mlx-lm's context sizes, default
//      20); the caller passes the history it wants covered (prompt + generated tokens).
//   3. temperature 0 → argmax of the processed logits (lowest id on a tie). Penalties and
//      bias still apply, as in both libraries.
//   4. logits / temperature, then top_k → top_p → min_p, then a draw from the softmax of what
//      is left. This is transformers' warper order (TemperatureLogitsWarper, TopK, TopP, MinP in
//      GenerationMixin._get_logits_processor). We follow it rather than mlx-lm, whose
//      make_sampler truncates (top_p → min_p → top_k) on the temperature-1 distribution and
//      divides by the temperature only when drawing: Qwen's recommended settings (T 0.6–1.0,
//      top_p 0.8–0.95, top_k 20; spec §1.4) come from the transformers/vLLM world, where
//      top_p and min_p see the tempered distribution. With T = 1 the two orders agree.
//   Every filter keeps at least the most likely token, so a distribution never goes empty.
//
// Determinism: the draw uses std::mt19937_64 (its output sequence is fixed by the C++ standard)
// and our own 53-bit conversion to [0, 1), never std::uniform_real_distribution or
// std::discrete_distribution (their algorithms differ between standard libraries). Candidates
// are ordered by (logit desc, id asc), so the same seed and the same logits give the same token
// on every platform.
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <vector>

#include "runtime/sampler_config.h"

namespace tf {

// Uniform double in [0, 1) from the top 53 bits of one 64-bit draw.
double uniform_unit(std::mt19937_64& rng);

class Sampler {
 public:
  // vocab_size: the real tokenizer size. Logit rows may be longer (the head is padded, spec §3.8:
  // 248320 rows for 248077 tokens); ids >= vocab_size are never sampled. Validates the config
  // (std::invalid_argument naming the flag) and the logit-bias ids.
  Sampler(SamplerConfig config, int32_t vocab_size);

  // The next token. `history` is the token sequence so far (prompt and generated); only its
  // tail is used, for the penalties. Throws std::runtime_error on NaN/+inf logits.
  int32_t sample(std::span<const float> logits, std::span<const int32_t> history);

  // The probabilities sample() draws from, one per logit (zeros for removed and padding ids); a
  // one-hot row for greedy. Same steps as sample(), no random draw. For tests and --verbose.
  std::vector<double> distribution(std::span<const float> logits,
                                   std::span<const int32_t> history);

  // Speculative sampling (runtime/speculative_decoding.h) draws from distributions it builds
  // itself, with this sampler's random stream: a uniform in [0, 1), and a token from `probs`
  // (non-negative, one per id, summing to about 1; the last id with mass if rounding leaves the
  // total below the draw).
  double uniform() { return uniform_unit(rng_); }
  int32_t draw(std::span<const double> probs);

  void reseed(uint64_t seed) { rng_.seed(seed); }
  const SamplerConfig& config() const { return config_; }
  int32_t vocab_size() const { return vocab_size_; }

 private:
  struct Candidate {
    float logit;
    int32_t id;
  };
  // Steps 1–2: fills processed_ with the first vocab_size logits, checked and penalised.
  void process(std::span<const float> logits, std::span<const int32_t> history);
  int32_t argmax() const;
  // Step 4 up to the draw: fills candidates_ (what survives) and probs_ (their probabilities,
  // same order, summing to 1).
  void truncate();
  void sort_prefix(size_t count);

  SamplerConfig config_;
  int32_t vocab_size_;
  std::mt19937_64 rng_;
  // Work buffers reused between calls (a full vocabulary row is ~1 MB).
  std::vector<float> processed_;
  float processed_max_ = 0.0f;  // the largest entry of processed_ (process() scans it)
  std::vector<Candidate> candidates_;
  std::vector<double> probs_;
  size_t sorted_prefix_ = 0;  // candidates_[0, sorted_prefix_) is in final (desc) order
};

}  // namespace tf
