// Speculative decoding with the MTP head (runtime/speculative_decoding.h) on the tiny MTP
// fixture (tests/data/tiny-qwen35moe-mtp, docs/model.md §10.10):
//  - the greedy traces of trace.json for k = 1, 2, 3: drafts, accepted counts, emitted tokens
//    and the output, step by step (random head: every draft rejected; copy head: partial and
//    full acceptance, the bonus token, a later draft equal to its target not accepted);
//  - speculative greedy == plain greedy decoding for long outputs;
//  - after partial acceptance the state equals that of a sequence fed only the committed tokens;
//  - with temperature > 0 the first speculative token has the distribution plain sampling gives
//    it (chi-square over many seeds, top-k 8 so the categories are few), also under StepRules
//    that mask per position (constrained sampling's shape);
//  - StepRules (mask and forced tokens per position) give plain decoding's greedy output;
//  - a multimodal prompt's embeddings and 3-D positions are what the head reads.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <map>

#include <nlohmann/json.hpp>

#include "runtime/speculative_decoding.h"

namespace tf {
namespace {

std::string fixture(const std::string& rest) {
  return std::string(TIGHTFIT_TEST_DATA) + "/tiny-qwen35moe-mtp/" + rest;
}

nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

// F32 activations and KV cache: what the float64 reference's tolerances assume.
SessionOptions exact() { return {.precision = ActivationPrecision::F32, .kv_type = KVType::F32,
                                 .capacity = 512}; }

SamplerConfig greedy() { return SamplerConfig{}; }

struct SpecRun {
  std::vector<int32_t> output;
  std::vector<std::vector<int32_t>> drafts, emitted;
};

// Speculative decoding of n_new tokens after `prompt`, recording every step.
SpecRun speculate(const Model& model, const std::vector<int32_t>& prompt, int n_new, int k,
              Session* keep_session = nullptr) {
  Session local(model, exact());
  Session& session = keep_session ? *keep_session : local;
  SpeculativeDecoder spec(session, {.drafts = k});
  Sampler sampler(greedy(), 512);
  std::vector<int32_t> history = prompt;
  history.push_back(sampler.sample(spec.prefill(prompt, true), prompt));
  SpecRun r;
  r.output.push_back(history.back());
  while (static_cast<int>(r.output.size()) < n_new) {
    const auto emitted = spec.step(history.back(), sampler, history);
    r.drafts.emplace_back(spec.last_drafts().begin(), spec.last_drafts().end());
    r.emitted.push_back(emitted);
    for (int32_t t : emitted) {
      history.push_back(t);
      r.output.push_back(t);
    }
  }
  r.output.resize(n_new);
  return r;
}

std::vector<int32_t> plain_greedy(const Model& model, const std::vector<int32_t>& prompt,
                                  int n_new) {
  Session session(model, exact());
  Sampler sampler(greedy(), 512);
  std::vector<int32_t> out;
  auto logits = session.prefill(prompt);
  for (int i = 0; i < n_new; ++i) {
    out.push_back(sampler.sample(logits, out));
    logits = session.decode(out.back());
  }
  return out;
}

// Chi-square of the first tokens of `runs` seeds against the distribution `p` over the tiny
// vocabulary: every token of probability 0 unseen, at most 8 categories, and the statistic
// below the 99.9 % quantile of chi-square with 7 degrees of freedom (24.3).
void expect_first_tokens_follow(const std::map<int32_t, int>& counts, const std::vector<double>& p,
                                int runs) {
  double chi2 = 0;
  int categories = 0;
  for (int32_t id = 0; id < 512; ++id) {
    const double expected = p[id] * runs;
    const auto it = counts.find(id);
    const int seen = it == counts.end() ? 0 : it->second;
    if (expected == 0) {
      EXPECT_EQ(seen, 0) << "token " << id << " has probability 0";
      continue;
    }
    chi2 += (seen - expected) * (seen - expected) / expected;
    ++categories;
  }
  ASSERT_LE(categories, 8);
  EXPECT_LT(chi2, 24.3) << categories << " categories";
}

class SpeculativeTrace : public ::testing::TestWithParam<const char*> {};

TEST_P(SpeculativeTrace, ReproducesTheReferenceTraces) {
  const std::string variant = GetParam();
  const auto model = Model::load(fixture(variant), 2);
  const auto trace = read_json(fixture(variant + "/trace.json"));
  const auto prompt = trace.at("prompt").get<std::vector<int32_t>>();
  const int n_new = trace.at("n_new").get<int>();
  const auto greedy_ref = trace.at("greedy").get<std::vector<int32_t>>();
  EXPECT_EQ(plain_greedy(*model, prompt, n_new), greedy_ref);
  for (const auto& t : trace.at("traces")) {
    const int k = t.at("k").get<int>();
    SCOPED_TRACE("k = " + std::to_string(k));
    const SpecRun run = speculate(*model, prompt, n_new, k);
    EXPECT_EQ(run.output, t.at("output").get<std::vector<int32_t>>());
    const auto& steps = t.at("steps");
    ASSERT_EQ(run.drafts.size(), steps.size());
    for (size_t s = 0; s < steps.size(); ++s) {
      SCOPED_TRACE("step " + std::to_string(s));
      EXPECT_EQ(run.drafts[s], steps[s].at("drafts").get<std::vector<int32_t>>());
      EXPECT_EQ(static_cast<int>(run.emitted[s].size()) - 1, steps[s].at("accepted").get<int>());
      EXPECT_EQ(run.emitted[s], steps[s].at("emitted").get<std::vector<int32_t>>());
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Heads, SpeculativeTrace, ::testing::Values("random", "copy"));

TEST(SpeculativeDecoding, GreedyEqualsPlainGreedyForLongOutputs) {
  for (const char* variant : {"random", "copy"}) {
    const auto model = Model::load(fixture(variant), 2);
    const auto prompts = read_json(fixture("tokens.json"));
    for (const char* key : {"seq16", "prompt"}) {
      const auto prompt = prompts.at(key).get<std::vector<int32_t>>();
      const auto want = plain_greedy(*model, prompt, 160);
      for (int k : {1, 2, 4}) {
        SCOPED_TRACE(std::string(variant) + " " + key + " k = " + std::to_string(k));
        EXPECT_EQ(speculate(*model, prompt, 160, k).output, want);
      }
    }
  }
}

TEST(SpeculativeDecoding, RollbackLeavesTheStateOfTheCommittedTokens) {
  const auto model = Model::load(fixture("copy"), 2);
  const auto prompt = read_json(fixture("tokens.json")).at("prompt").get<std::vector<int32_t>>();
  Session session(*model, exact());
  const SpecRun run = speculate(*model, prompt, 20, 3, &session);
  // The copy head has partial acceptances within these steps (trace.json).
  bool partial = false;
  for (const auto& e : run.emitted) partial = partial || (e.size() > 1 && e.size() < 4);
  EXPECT_TRUE(partial);
  // The session holds prompt + every committed token but the last; a fresh session fed exactly
  // those continues identically.
  std::vector<int32_t> committed = prompt;
  committed.push_back(run.output[0]);
  for (const auto& e : run.emitted) committed.insert(committed.end(), e.begin(), e.end());
  ASSERT_EQ(session.length(), static_cast<int64_t>(committed.size()) - 1);
  Session fresh(*model, exact());
  fresh.prefill(std::span<const int32_t>(committed).first(committed.size() - 1));
  const int32_t next = committed.back();
  const auto a = session.decode(next);
  const std::vector<float> got(a.begin(), a.end());
  const auto b = fresh.decode(next);
  for (size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], b[i], 1e-5) << "logit " << i;
}

TEST(SpeculativeDecoding, KeepEmittedCutsTheStepShort) {
  const auto model = Model::load(fixture("copy"), 2);
  const auto prompt = read_json(fixture("tokens.json")).at("prompt").get<std::vector<int32_t>>();
  Session session(*model, exact());
  SpeculativeDecoder spec(session, {.drafts = 3});
  Sampler sampler(greedy(), 512);
  std::vector<int32_t> history = prompt;
  history.push_back(sampler.sample(spec.prefill(prompt, true), history));
  std::vector<int32_t> emitted;
  while ((emitted = spec.step(history.back(), sampler, history)).size() < 3)
    history.insert(history.end(), emitted.begin(), emitted.end());
  // Keep 2 of them (as if a stop string ended the output there): the state is that of the
  // committed prefix, and the loop continues like plain greedy from there.
  spec.keep_emitted(2);
  history.insert(history.end(), emitted.begin(), emitted.begin() + 2);
  EXPECT_EQ(session.length(), static_cast<int64_t>(history.size()) - 1);
  EXPECT_THROW(spec.keep_emitted(3), std::logic_error);
  const auto next = spec.step(history.back(), sampler, history);
  std::vector<int32_t> want = plain_greedy(*model, prompt, static_cast<int>(history.size() - prompt.size()) + 1);
  EXPECT_EQ(next.front(), want.back());
}

TEST(SpeculativeDecoding, RefusesBadSettings) {
  const auto model = Model::load(fixture("random"), 1);
  Session session(*model, exact());
  EXPECT_THROW(SpeculativeDecoder(session, {.drafts = 0}), std::invalid_argument);
  EXPECT_THROW(SpeculativeDecoder(session, {.drafts = 2, .forced_acceptance = 1.5}),
               std::invalid_argument);
  const auto plain = Model::load(std::string(TIGHTFIT_TEST_DATA) + "/tiny-qwen35moe-a", 1);
  Session no_head(*plain);
  EXPECT_THROW(SpeculativeDecoder(no_head, {.drafts = 2}), std::invalid_argument);
}

// Forced acceptance (benchmarks): the configured share of drafts is kept.
TEST(SpeculativeDecoding, ForcedAcceptanceKeepsThatShare) {
  const auto model = Model::load(fixture("random"), 1);
  SessionOptions options = exact();
  options.capacity = 1024;
  Session session(*model, options);
  SpeculativeDecoder spec(session, {.drafts = 3, .forced_acceptance = 0.8, .forced_seed = 7});
  Sampler sampler(greedy(), 512);
  std::vector<int32_t> history = {1, 2, 3};
  history.push_back(sampler.sample(spec.prefill(history, true), history));
  while (session.length() < 1000) {
    const auto e = spec.step(history.back(), sampler, history);
    history.insert(history.end(), e.begin(), e.end());
  }
  // Per position i the chance to be proposed-and-accepted is 0.8 given the earlier ones.
  EXPECT_NEAR(static_cast<double>(spec.stats().accepted_at[0]) / spec.stats().proposed_at[0],
              0.8, 0.08);  // ~320 steps: 3.6 standard deviations (the run is seeded)
  EXPECT_GT(spec.stats().tokens_per_step(), 2.0);
}

// Speculative sampling leaves the distribution unchanged: the token after a fixed prefix,
// over many seeds, against the main model's exact distribution (temperature 1, top-k 8).
TEST(SpeculativeDecoding, SamplingKeepsTheDistribution) {
  const auto model = Model::load(fixture("copy"), 1);
  const auto prompt = read_json(fixture("tokens.json")).at("prompt").get<std::vector<int32_t>>();
  SamplerConfig config;
  config.temperature = 1.0f;
  config.top_k = 8;
  // The exact distribution of the token after prompt + x (x: the greedy first token).
  Session plain(*model, exact());
  std::vector<int32_t> history = prompt;
  history.push_back(Sampler(greedy(), 512).sample(plain.prefill(prompt), prompt));
  Sampler reference(config, 512);
  const std::vector<double> p = reference.distribution(plain.decode(history.back()), history);

  constexpr int kRuns = 1000;
  std::map<int32_t, int> counts;
  int accepted = 0;
  for (int seed = 0; seed < kRuns; ++seed) {
    Session session(*model, exact());
    SpeculativeDecoder spec(session, {.drafts = 2});
    config.seed = seed;
    Sampler sampler(config, 512);
    spec.prefill(prompt, true);
    const auto emitted = spec.step(history.back(), sampler, history);
    counts[emitted.front()] += 1;
    accepted += emitted.size() > 1;
  }
  // Both paths ran: accepted drafts and residual draws.
  EXPECT_GT(accepted, kRuns / 10);
  EXPECT_LT(accepted, kRuns);
  expect_first_tokens_follow(counts, p, kRuns);
}

}  // namespace
}  // namespace tf

namespace tf {
namespace {

// FR-Spec: drafting over a reduced vocabulary changes only what is drafted; the output is the
// main model's (greedy) either way.
TEST(SpeculativeDecoding, ReducedDraftVocabularyLeavesTheOutputUnchanged) {
  const auto model = Model::load(fixture("copy"), 2);
  const auto prompt = read_json(fixture("tokens.json")).at("prompt").get<std::vector<int32_t>>();
  const auto want = plain_greedy(*model, prompt, 80);
  // Half of the ids the output uses, plus others: some drafts can match, many cannot.
  std::vector<int32_t> ids;
  for (size_t i = 0; i < want.size(); i += 2)
    if (std::find(ids.begin(), ids.end(), want[i]) == ids.end()) ids.push_back(want[i]);
  for (int32_t id = 0; id < 40; ++id)
    if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
  Session session(*model, exact());
  SpeculativeOptions options;
  options.drafts = 3;
  options.draft_vocabulary = std::make_shared<const DraftVocabulary>(*model, ids);
  SpeculativeDecoder spec(session, options);
  Sampler sampler(greedy(), 512);
  std::vector<int32_t> history = prompt, out;
  history.push_back(sampler.sample(spec.prefill(prompt, true), prompt));
  out.push_back(history.back());
  while (out.size() < want.size()) {
    for (int32_t d : spec.last_drafts())
      EXPECT_NE(std::find(ids.begin(), ids.end(), d), ids.end()) << "drafted " << d;
    for (int32_t t : spec.step(history.back(), sampler, history)) {
      history.push_back(t);
      out.push_back(t);
    }
  }
  out.resize(want.size());
  EXPECT_EQ(out, want);
  EXPECT_GT(spec.stats().drafts_accepted, 0);
}

}  // namespace
}  // namespace tf

namespace tf {
namespace {

// The phase API as a batching scheduler uses it: two sequences of different prompts, their
// prompts and every verify batch in ONE forward per round; each equals plain greedy.
TEST(SpeculativeDecoding, TwoSequencesVerifyInOneBatch) {
  const auto model = Model::load(fixture("copy"), 2);
  const auto tokens = read_json(fixture("tokens.json"));
  const std::vector<std::vector<int32_t>> prompts = {
      tokens.at("prompt").get<std::vector<int32_t>>(), tokens.at("seq16").get<std::vector<int32_t>>()};
  ForwardPass pass(*model, {.precision = ActivationPrecision::F32});
  std::vector<std::unique_ptr<Sequence>> seqs;
  std::vector<std::unique_ptr<SpeculativeDecoder>> specs;
  std::vector<Sampler> samplers;
  std::vector<std::vector<int32_t>> history, out(2);
  std::vector<BatchItem> items;
  for (int i = 0; i < 2; ++i) {
    seqs.push_back(std::make_unique<Sequence>(*model, KVType::F32, 512));
    SpeculativeOptions o;
    o.drafts = 2 + i;
    specs.push_back(std::make_unique<SpeculativeDecoder>(*seqs[i], pass.options(), o));
    samplers.emplace_back(greedy(), 512);
    history.push_back(prompts[i]);
    items.push_back({.sequence = seqs[i].get(), .tokens = prompts[i], .logits = OutputRows::Last,
                     .hidden = OutputRows::All});
  }
  pass.run(items);
  for (int i = 0; i < 2; ++i) {
    specs[i]->observe_prefill(prompts[i], pass.hidden(i));
    history[i].push_back(samplers[i].sample(pass.logits(i), history[i]));
    out[i].push_back(history[i].back());
  }
  while (out[0].size() < 40 || out[1].size() < 40) {
    for (int i = 0; i < 2; ++i)
      items[i] = {.sequence = seqs[i].get(),
                  .tokens = specs[i]->propose(history[i].back(), samplers[i], history[i]),
                  .logits = OutputRows::All, .hidden = OutputRows::All, .keep_states = true};
    pass.run(items);
    for (int i = 0; i < 2; ++i)
      for (int32_t t : specs[i]->accept(pass.logits(i), pass.hidden(i), samplers[i], history[i])) {
        history[i].push_back(t);
        out[i].push_back(t);
      }
  }
  for (int i = 0; i < 2; ++i) {
    out[i].resize(40);
    EXPECT_EQ(out[i], plain_greedy(*model, prompts[i], 40)) << "sequence " << i;
    EXPECT_GT(specs[i]->stats().drafts_accepted, 0);
  }
  // accept without the matching verify batch is a logic error.
  EXPECT_THROW(specs[0]->accept(pass.logits(1), pass.hidden(1), samplers[0], history[0]),
               std::logic_error);
}

}  // namespace
}  // namespace tf

namespace tf {
namespace {

// Rules whose mask depends on the token before each position (like a grammar's state) and that
// force token 42 as every 7th output token (like a thinking budget's "</think>").
class TestRules : public StepRules {
 public:
  int32_t last = 0;    // the last committed token (position 0's predecessor)
  int64_t count = 0;   // tokens output before position 0
  int64_t masks = 0;

  static bool refused(int32_t before, int32_t token) { return (token + before) % 5 == 0; }
  static bool forced_at(int64_t index) { return index % 7 == 6; }

  void restart(int drafts) override { before_.assign(static_cast<size_t>(drafts) + 1, last); }
  int32_t forced(int j) const override { return forced_at(count + j) ? 42 : -1; }
  std::span<const float> mask(int j, std::span<const float> logits, bool) override {
    ++masks;
    masked_.assign(logits.begin(), logits.end());
    for (size_t t = 0; t < masked_.size(); ++t)
      if (refused(before_.at(static_cast<size_t>(j)), static_cast<int32_t>(t)))
        masked_[t] = -std::numeric_limits<float>::infinity();
    return masked_;
  }
  bool advance(int j, int32_t token) override {
    before_.at(static_cast<size_t>(j) + 1) = token;
    return true;
  }

 private:
  std::vector<int32_t> before_;
  std::vector<float> masked_;
};

TEST(SpeculativeDecoding, StepRulesMaskAndForceAsPlainDecodingDoes) {
  const auto model = Model::load(fixture("copy"), 2);
  const auto prompt = read_json(fixture("tokens.json")).at("prompt").get<std::vector<int32_t>>();
  constexpr int kNew = 120;
  // Plain greedy decoding under the rules.
  std::vector<int32_t> want;
  {
    Session session(*model, exact());
    Sampler sampler(greedy(), 512);
    auto logits = session.prefill(prompt);
    int32_t before = prompt.back();
    for (int i = 0; i < kNew; ++i) {
      std::vector<float> masked(logits.begin(), logits.end());
      for (size_t t = 0; t < masked.size(); ++t)
        if (TestRules::refused(before, static_cast<int32_t>(t)))
          masked[t] = -std::numeric_limits<float>::infinity();
      const int32_t token = TestRules::forced_at(i) ? 42 : sampler.sample(masked, want);
      want.push_back(token);
      before = token;
      logits = session.decode(token);
    }
  }
  for (int k : {1, 3, 5}) {
    SCOPED_TRACE("k = " + std::to_string(k));
    Session session(*model, exact());
    SpeculativeDecoder spec(session, {.drafts = k});
    TestRules rules;
    spec.set_rules(&rules);
    Sampler sampler(greedy(), 512);
    std::vector<int32_t> history = prompt, output;
    rules.last = prompt.back();
    // The first token comes from the prefill's logits, under position 0's rules.
    rules.restart(0);
    output.push_back(sampler.sample(rules.mask(0, spec.prefill(prompt, true), true), history));
    history.push_back(output.back());
    while (static_cast<int>(output.size()) < kNew) {
      rules.last = output.back();
      rules.count = static_cast<int64_t>(output.size());
      for (int32_t t : spec.step(history.back(), sampler, history)) {
        output.push_back(t);
        history.push_back(t);
      }
    }
    output.resize(kNew);
    EXPECT_EQ(output, want);
    EXPECT_GT(spec.stats().drafts_accepted, spec.stats().drafts_proposed / 3);
    // Each step masks each drafted position once and each verify row it reaches once more.
    EXPECT_LE(rules.masks, 2 * (k + 1) * spec.stats().steps + 1);
  }
}

TEST(SpeculativeDecoding, SamplingUnderStepRulesKeepsTheMaskedDistribution) {
  const auto model = Model::load(fixture("copy"), 1);
  const auto prompt = read_json(fixture("tokens.json")).at("prompt").get<std::vector<int32_t>>();
  SamplerConfig config;
  config.temperature = 1.0f;
  config.top_k = 8;
  // The exact distribution plain sampling under the rules gives the token after prompt + x.
  Session plain(*model, exact());
  std::vector<int32_t> history = prompt;
  history.push_back(Sampler(greedy(), 512).sample(plain.prefill(prompt), prompt));
  TestRules reference_rules;
  reference_rules.last = history.back();
  reference_rules.count = 1;  // no forced token in this step's positions
  reference_rules.restart(0);
  const std::vector<double> p = Sampler(config, 512).distribution(
      reference_rules.mask(0, plain.decode(history.back()), true), history);

  constexpr int kRuns = 1000;
  std::map<int32_t, int> counts;
  int accepted = 0;
  for (int seed = 0; seed < kRuns; ++seed) {
    Session session(*model, exact());
    SpeculativeDecoder spec(session, {.drafts = 2});
    TestRules rules;
    rules.last = history.back();
    rules.count = 1;
    spec.set_rules(&rules);
    config.seed = seed;
    Sampler sampler(config, 512);
    spec.prefill(prompt, true);
    const auto emitted = spec.step(history.back(), sampler, history);
    for (size_t i = 0; i < emitted.size(); ++i)  // every token obeys the rules
      EXPECT_FALSE(TestRules::refused(i == 0 ? history.back() : emitted[i - 1], emitted[i]));
    counts[emitted.front()] += 1;
    accepted += emitted.size() > 1;
  }
  EXPECT_GT(accepted, kRuns / 10);
  EXPECT_LT(accepted, kRuns);
  expect_first_tokens_follow(counts, p, kRuns);
}

TEST(SpeculativeDecoding, PrefillEmbeddingsAndPositionsAreWhatTheHeadReads) {
  const auto model = Model::load(fixture("copy"), 2);
  const auto prompt = read_json(fixture("tokens.json")).at("seq16").get<std::vector<int32_t>>();
  const int64_t H = model->hidden_size(), n = static_cast<int64_t>(prompt.size());
  std::vector<float> embeddings(static_cast<size_t>(n * H));
  model->embed(prompt, embeddings.data());
  // The drafts after a prompt fed as ids, as its own embeddings with text positions, and as
  // embeddings changed at three rows (an image's features) or with shifted 3-D positions.
  auto drafts_after = [&](std::span<const float> emb, std::span<const Position3> positions) {
    ForwardPass pass(*model, {.precision = ActivationPrecision::F32});
    Sequence sequence(*model, KVType::F32, 512);
    SpeculativeDecoder spec(sequence, pass.options(), {.drafts = 3});
    BatchItem item;
    item.sequence = &sequence;
    if (emb.empty()) item.tokens = prompt;
    else {
      item.embeddings = emb;
      item.positions = positions;
    }
    item.hidden = OutputRows::All;
    pass.run(std::span<const BatchItem>(&item, 1));
    spec.observe_prefill(prompt, pass.hidden(0), emb, positions);
    Sampler sampler(greedy(), 512);
    const int32_t next = sampler.sample(pass.logits(0), prompt);
    const auto rows = spec.propose(next, sampler, prompt);
    return std::vector<int32_t>(rows.begin(), rows.end());
  };
  std::vector<Position3> text(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) text[static_cast<size_t>(i)] = Position3::text(i);
  const auto by_ids = drafts_after({}, {});
  EXPECT_EQ(drafts_after(embeddings, text), by_ids);
  // The head itself: rows given as embeddings equal to E[ids] are the rows of the ids; rows
  // changed from row 4 on (an image's features, its 3-D positions) change g from row 4 on only.
  MtpHead head(*model, {.precision = ActivationPrecision::F32});
  const std::vector<float>& hidden = embeddings;  // any rows of the right width
  auto g_of = [&](std::span<const float> emb, std::span<const Position3> positions) {
    MtpCache cache(*model, KVType::F32, 64);
    const auto g = emb.empty() && positions.empty() ? head.run(cache, prompt, hidden, 0)
                                                   : head.run(cache, prompt, emb, hidden, positions);
    return std::vector<float>(g.begin(), g.end());
  };
  const std::vector<float> g_ids = g_of({}, {});
  EXPECT_EQ(g_of(embeddings, text), g_ids);
  std::vector<float> image = embeddings;
  for (int64_t i = 4 * H; i < 7 * H; ++i) image[static_cast<size_t>(i)] *= -3.0f;
  std::vector<Position3> grid = text;
  for (int64_t i = 4; i < n; ++i) grid[static_cast<size_t>(i)] = {i, i + 5, i - 2};
  for (const auto& g : {g_of(image, text), g_of(embeddings, grid)}) {
    EXPECT_TRUE(std::equal(g.begin(), g.begin() + 4 * H, g_ids.begin()));
    EXPECT_FALSE(std::equal(g.begin() + 4 * H, g.begin() + 5 * H, g_ids.begin() + 4 * H));
  }
}

}  // namespace
}  // namespace tf
