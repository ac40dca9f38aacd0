// `tightfit bench --spec-accept`: speculative decoding with the MTP head at a forced per-draft
// acceptance rate (runtime/bench.h, BenchOptions::spec_accept).
#include <algorithm>
#include <memory>
#include <numeric>
#include <stdexcept>

#include "runtime/bench.h"
#include "runtime/bench_clock.h"
#include "runtime/speculative_decoding.h"

namespace tf {

using namespace bench_clock;

// One speculative tg test (BenchOptions::spec_accept): decode at least n tokens after `depth`
// tokens of context, forced acceptance `acceptance`, `repeats` times.
BenchTest bench_speculative(const Model& m, const SessionOptions& timed, const BenchOptions& o,
                            int n, int64_t depth, double acceptance,
                            const std::vector<int32_t>& tokens,
                            const std::function<double()>& plain_repetition) {
  if (!m.mtp())
    throw std::invalid_argument("bench --spec-accept: the model has no MTP head (mtp.*); make "
                                "one with `tightfit synth --mtp` or convert with --keep-mtp");
  BenchTest t;
  t.name = "tg" + std::to_string(n) + " spec k=" + std::to_string(o.spec_drafts) + " a=" +
           fmt("%.2f", acceptance) + (depth ? " @ d" + std::to_string(depth) : "");
  t.tokens = n;
  t.depth = depth;
  t.spec_acceptance = acceptance;
  t.spec_drafts = o.spec_drafts;
  Sampler sampler(SamplerConfig{}, static_cast<int32_t>(m.vocab_size()));
  std::shared_ptr<const DraftVocabulary> vocabulary;
  if (o.spec_draft_vocab > 0) {
    std::vector<int32_t> ids(static_cast<size_t>(std::min(o.spec_draft_vocab, m.vocab_size())));
    std::iota(ids.begin(), ids.end(), 0);
    vocabulary = std::make_shared<const DraftVocabulary>(m, std::move(ids));
    t.name += " vocab " + std::to_string(o.spec_draft_vocab);
  }
  std::vector<double> rates, ratios;
  double wall = 0, cpu = 0, steps = 0, emitted = 0;
  for (int i = -1; i < o.repeats; ++i) {  // i = −1: untimed warm-up
    double plain = i >= 0 && i % 2 == 0 ? plain_repetition() : 0;
    Session s(m, timed);
    s.extend_with_random_context(depth, o.seed);
    SpeculativeOptions options;
    options.drafts = o.spec_drafts;
    options.forced_acceptance = acceptance;
    options.forced_seed = o.seed + static_cast<uint64_t>(i + 1);
    options.draft_vocabulary = vocabulary;
    SpeculativeDecoder spec(s, options);
    std::vector<int32_t> history(tokens.begin(), tokens.begin() + 1);
    spec.prefill(history, true);
    history.push_back(tokens[1 % tokens.size()]);
    const double cpu0 = cpu_seconds();
    const auto t0 = Clock::now();
    int64_t generated = 0;
    while (generated < n) {
      const auto e = spec.step(history.back(), sampler, history);
      history.insert(history.end(), e.begin(), e.end());
      generated += static_cast<int64_t>(e.size());
    }
    const double dt = seconds_since(t0);
    if (i < 0) continue;
    cpu += cpu_seconds() - cpu0;
    wall += dt;
    rates.push_back(static_cast<double>(generated) / dt);
    if (i % 2 == 1) plain = plain_repetition();
    ratios.push_back(rates.back() / plain);
    steps += static_cast<double>(spec.stats().steps);
    emitted += static_cast<double>(generated);
  }
  t.cpu_share = cpu / (wall * m.pool().num_threads());
  t.tok_per_s = BenchStat::of(rates);
  t.speedup = BenchStat::of(ratios).median;
  t.tokens_per_step = emitted / steps;
  return t;
}

}  // namespace tf
