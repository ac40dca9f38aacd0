// Cost of one sampling step over a full Qwen3.5 logit row (248320 entries, 248077 real tokens)
// for the common settings: greedy, the model's defaults (T 1, top_k 20, top_p 0.95), top_p
// alone (the nucleus sort grows as needed), min_p alone, and penalties over 64 tokens.
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "runtime/sampler.h"

namespace {

constexpr int32_t kRows = 248320;
constexpr int32_t kVocab = 248077;

std::vector<float> random_logits() {
  std::mt19937_64 rng(1);
  std::vector<float> logits(kRows);
  // Roughly what a language model gives: most logits low, a heavy head.
  for (float& v : logits) v = static_cast<float>(tf::uniform_unit(rng) * 6.0 - 3.0);
  for (int i = 0; i < 200; ++i) logits[rng() % kVocab] += 12.0f;
  return logits;
}

void run(benchmark::State& state, tf::SamplerConfig config) {
  const auto logits = random_logits();
  std::vector<int32_t> history;
  for (int i = 0; i < 64; ++i) history.push_back(i * 97);
  config.seed = 7;
  tf::Sampler sampler(config, kVocab);
  for (auto _ : state) benchmark::DoNotOptimize(sampler.sample(logits, history));
}

void BM_Greedy(benchmark::State& state) { run(state, {}); }

void BM_ModelDefaults(benchmark::State& state) {
  tf::SamplerConfig c;
  c.temperature = 1.0f;
  c.top_k = 20;
  c.top_p = 0.95f;
  run(state, c);
}

void BM_TopPOnly(benchmark::State& state) {
  tf::SamplerConfig c;
  c.temperature = 0.7f;
  c.top_p = 0.9f;
  run(state, c);
}

void BM_MinPOnly(benchmark::State& state) {
  tf::SamplerConfig c;
  c.temperature = 1.0f;
  c.min_p = 0.05f;
  run(state, c);
}

void BM_Penalties(benchmark::State& state) {
  tf::SamplerConfig c;
  c.temperature = 0.7f;
  c.top_k = 20;
  c.repetition_penalty = 1.1f;
  c.presence_penalty = 1.5f;
  c.repetition_context_size = 64;
  c.penalty_context_size = 64;
  run(state, c);
}

BENCHMARK(BM_Greedy);
BENCHMARK(BM_ModelDefaults);
BENCHMARK(BM_TopPOnly);
BENCHMARK(BM_MinPOnly);
BENCHMARK(BM_Penalties);

}  // namespace

BENCHMARK_MAIN();
