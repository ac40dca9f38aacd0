// Many sequences in one forward (model/forward_pass.h) on the tiny fixture: continuous batching
// (a prefill chunk of one sequence next to decode steps of others) and batched decode give each
// sequence what it gets when run alone, row by row, and the same greedy tokens.
#include <gtest/gtest.h>

#include <cstdio>
#include <stdexcept>
#include <vector>

#include "model/forward_pass.h"
#include "model_test_util.h"
#include "test_checkpoints.h"

namespace tf {
namespace {

using test::random_tokens;

// Rows of a batch go through the same code as alone; only the matrix products see more rows
// (a decode step's one row joins a product of several), which changes the float summation
// order of the dense and float-activation kernels (kernels/linear_dense.cpp: one accumulator
// chain per token in a batch, four for a single token), nothing else. Measured worst here:
// 1.8e-6 (bf16) and 5.6e-6 (4-bit). The KV cache is float32: an f16 cache rounds keys and
// values to 11-bit mantissas, which turns those last-bit differences into steps of 2^-11 of
// an element now and then (worst measured with f16: 1.1e-5 bf16, 2.1e-5 4-bit).
constexpr double kBatchedEqualsAlone = 1e-5;

// The tiny fixture as it is (bf16 weights: dense kernels), and converted to MLX 4-bit (the
// quantized kernels, float activations).
struct Variant {
  const char* name;
  bool q4;
};

// The two models, loaded once.
class BatchedModels : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dense_ = Model::load(test::tiny_dir(), 2).release();
    q4_dir_ = new test::TempDir("batched-q4");
    test::convert_to_mlx(test::tiny_dir(), q4_dir_->path, {.bits = 4, .group_size = 32});
    q4_ = Model::load(q4_dir_->path, 2).release();
  }
  static void TearDownTestSuite() {
    delete dense_;
    delete q4_;
    delete q4_dir_;
  }
  static std::vector<float> copy(std::span<const float> s) { return {s.begin(), s.end()}; }
  static inline Model *dense_ = nullptr, *q4_ = nullptr;
  static inline test::TempDir* q4_dir_ = nullptr;
};

class BatchedForwardTest : public BatchedModels, public ::testing::WithParamInterface<Variant> {
 protected:
  void SetUp() override { model_ = GetParam().q4 ? q4_ : dense_; }
  int64_t V() const { return model_->vocab_size(); }
  ForwardOptions forward_options() const { return {.precision = options_.precision}; }

  const Model* model_ = nullptr;
  SessionOptions options_{.precision = ActivationPrecision::F32, .kv_type = KVType::F32};
};

// What one sequence does: prompt chunks, then greedy decode steps. Records every output row.
struct Script {
  std::vector<std::vector<int32_t>> chunks;  // prompt, in the chunks it is fed in
  int decode_steps = 0;
};

struct Trace {
  std::vector<std::vector<float>> logits;  // per forward that asked for some: its rows
  std::vector<int32_t> tokens;             // greedy tokens chosen
};

int32_t greedy(std::span<const float> row, int64_t V) {
  return static_cast<int32_t>(test::argmax(row.data() + row.size() - V, V));
}

// The script run alone through a Session.
Trace run_alone(const Model& m, const SessionOptions& options, const Script& s) {
  Session session(m, options);
  Trace t;
  std::span<const float> l;
  for (const auto& chunk : s.chunks) l = session.prefill(chunk);
  t.logits.push_back({l.begin(), l.end()});
  for (int i = 0; i < s.decode_steps; ++i) {
    t.tokens.push_back(greedy(l, m.vocab_size()));
    l = session.decode(t.tokens.back());
    t.logits.push_back({l.begin(), l.end()});
  }
  return t;
}

// Largest relative L2 difference seen by a test, printed next to the bound.
struct Worst {
  const char* test;
  double value = 0;
  double operator()(double x) { return value = std::max(value, x); }
  ~Worst() { std::printf("[ batched  ] %s: worst relative L2 %.3g\n", test, value); }
};

void expect_same(const Trace& batched, const Trace& alone, int64_t V, const char* name,
                 Worst& worst) {
  ASSERT_EQ(batched.logits.size(), alone.logits.size()) << name;
  EXPECT_EQ(batched.tokens, alone.tokens) << name;
  for (size_t i = 0; i < alone.logits.size(); ++i) {
    ASSERT_EQ(batched.logits[i].size(), alone.logits[i].size()) << name << " output " << i;
    EXPECT_LE(worst(test::relative_l2(batched.logits[i].data(), alone.logits[i].data(), V)),
              kBatchedEqualsAlone)
        << name << " output " << i;
  }
}

// Continuous batching: sequences start at different steps, a long prompt is fed in chunks next
// to the decode steps of the others, and sequences finish at different steps.
TEST_P(BatchedForwardTest, ContinuousBatchingEqualsEachSequenceAlone) {
  const std::vector<Script> scripts = {
      {{random_tokens(23, 1)}, 9},
      {{random_tokens(40, 2), random_tokens(30, 3)}, 6},  // 70 tokens: crosses a delta-rule chunk
      {{random_tokens(5, 4)}, 7},
      {{random_tokens(1, 5)}, 3},
  };
  const std::vector<int> start = {0, 1, 2, 2};  // step at which each sequence's prompt begins

  ForwardPass pass(*model_, forward_options());
  std::vector<Sequence> seqs;
  for (size_t i = 0; i < scripts.size(); ++i) seqs.emplace_back(*model_, options_.kv_type);
  std::vector<Trace> traces(scripts.size());
  std::vector<size_t> chunk(scripts.size(), 0);
  std::vector<int> decoded(scripts.size(), 0);
  std::vector<int32_t> next(scripts.size());
  std::vector<BatchItem> items;
  std::vector<size_t> owner;
  int largest_batch = 0;
  for (int step = 0;; ++step) {
    items.clear();
    owner.clear();
    for (size_t i = 0; i < scripts.size(); ++i) {
      if (step < start[i]) continue;
      if (chunk[i] < scripts[i].chunks.size()) {
        const auto& c = scripts[i].chunks[chunk[i]++];
        const bool last = chunk[i] == scripts[i].chunks.size();
        items.push_back({.sequence = &seqs[i], .tokens = c,
                         .logits = last ? OutputRows::Last : OutputRows::None});
      } else if (decoded[i] < scripts[i].decode_steps) {
        ++decoded[i];
        traces[i].tokens.push_back(next[i]);
        items.push_back({.sequence = &seqs[i], .tokens = std::span(&next[i], 1)});
      } else {
        continue;
      }
      owner.push_back(i);
    }
    if (items.empty()) break;
    largest_batch = std::max(largest_batch, static_cast<int>(items.size()));
    pass.run(items);
    for (size_t j = 0; j < items.size(); ++j) {
      const auto l = pass.logits(j);
      if (l.empty()) continue;
      traces[owner[j]].logits.push_back(copy(l));
      next[owner[j]] = greedy(l, V());
    }
  }
  EXPECT_EQ(largest_batch, 4);
  Worst worst{GetParam().name};
  for (size_t i = 0; i < scripts.size(); ++i) {
    SCOPED_TRACE("sequence " + std::to_string(i));
    expect_same(traces[i], run_alone(*model_, options_, scripts[i]), V(), "batched vs alone",
                worst);
    int64_t length = 0;
    for (const auto& c : scripts[i].chunks) length += static_cast<int64_t>(c.size());
    EXPECT_EQ(seqs[i].length(), length + scripts[i].decode_steps);
  }
}

// Decode steps of N sequences in one forward, N = 1 … 5, with every row's logits and hidden
// states, against each sequence decoded alone.
TEST_P(BatchedForwardTest, BatchedDecodeEqualsDecodeAlone) {
  Worst worst{GetParam().name};
  for (int n : {1, 2, 5}) {
    SCOPED_TRACE("N = " + std::to_string(n));
    std::vector<Sequence> seqs;
    std::vector<Session> alone;
    for (int i = 0; i < n; ++i) {
      const auto prompt = random_tokens(3 + 7 * i, 10 + i);
      seqs.emplace_back(*model_, options_.kv_type);
      alone.emplace_back(*model_, options_);
      ForwardPass prefill(*model_, forward_options());
      const BatchItem item{.sequence = &seqs.back(), .tokens = prompt};
      prefill.run(std::span(&item, 1));
      alone.back().prefill(prompt);
    }
    ForwardPass pass(*model_, forward_options());
    for (int step = 0; step < 6; ++step) {
      std::vector<int32_t> tokens(n);
      std::vector<BatchItem> items;
      for (int i = 0; i < n; ++i) {
        tokens[i] = (37 * step + 11 * i) % 512;
        items.push_back({.sequence = &seqs[i], .tokens = std::span(&tokens[i], 1),
                         .hidden = OutputRows::Last});
      }
      pass.run(items);
      for (int i = 0; i < n; ++i) {
        const auto want = copy(alone[i].decode(tokens[i]));
        const auto got = pass.logits(i);
        ASSERT_EQ(got.size(), want.size());
        EXPECT_LE(worst(test::relative_l2(got.data(), want.data(), V())), kBatchedEqualsAlone)
            << "sequence " << i << " step " << step;
        EXPECT_EQ(test::argmax(got.data(), V()), test::argmax(want.data(), V()));
        EXPECT_EQ(pass.hidden(i).size(), static_cast<size_t>(model_->hidden_size()));
      }
    }
  }
}

// A bad id in any item, or two items naming one sequence, is refused before any state changes.
TEST_P(BatchedForwardTest, RefusedBatchChangesNoSequence) {
  Sequence a(*model_, options_.kv_type), b(*model_, options_.kv_type);
  ForwardPass pass(*model_, forward_options());
  const std::vector<int32_t> good = {1, 2, 3}, bad = {4, 512};
  const BatchItem both[] = {{.sequence = &a, .tokens = good}, {.sequence = &b, .tokens = bad}};
  EXPECT_THROW(pass.run(both), std::out_of_range);
  const BatchItem twice[] = {{.sequence = &a, .tokens = good}, {.sequence = &a, .tokens = good}};
  EXPECT_THROW(pass.run(twice), std::invalid_argument);
  EXPECT_EQ(a.length(), 0);
  EXPECT_EQ(b.length(), 0);
  // The sequences continue as if the refused batches never happened.
  const BatchItem one[] = {{.sequence = &a, .tokens = good, .logits = OutputRows::All}};
  pass.run(one);
  const auto want = test::prefill_logits(*model_, good, options_);
  EXPECT_LE(test::max_row_relative_l2(copy(pass.logits(0)), want, V()), kBatchedEqualsAlone);
}

INSTANTIATE_TEST_SUITE_P(Kernels, BatchedForwardTest,
                         ::testing::Values(Variant{"bf16", false}, Variant{"q4", true}),
                         [](const auto& info) { return std::string(info.param.name); });

// Int8 activations round every row on its own, and below q8_tiles_min_tokens (4 rows for rows
// of ≤ 512 columns, as in this model) a product runs the same row kernel whatever the row count,
// every token summed in the same order: batched decode of 2 and 3 sequences is then
// bit-identical to decoding each alone (f16 cache included: same bits in, same bits out).
// From there on the tile kernel takes over; its sums differ from the row kernel's in the last
// bits (≤ 4e-6 per product), and on this random model the int8 rounding of the next input plus
// top-2 routing flips blow that up (0.66 relative L2 between a 4-token prefill and 4 decode
// steps of one sequence, with or without batching), so no tolerance is checked there.
TEST_F(BatchedModels, Int8RowKernelRowsAreBitIdenticalBatched) {
  const SessionOptions options{.precision = ActivationPrecision::Int8};
  for (int n : {2, 3}) {
    SCOPED_TRACE("N = " + std::to_string(n));
    std::vector<Sequence> seqs;
    std::vector<Session> alone;
    ForwardPass pass(*q4_, {.precision = options.precision});
    for (int i = 0; i < n; ++i) {
      const auto prompt = random_tokens(2 + i, 20 + i);
      seqs.emplace_back(*q4_, options.kv_type);
      alone.emplace_back(*q4_, options);
      for (int32_t t : prompt) {  // one row per product, as alone
        const BatchItem item{.sequence = &seqs.back(), .tokens = std::span(&t, 1)};
        pass.run(std::span(&item, 1));
        alone.back().decode(t);
      }
    }
    for (int step = 0; step < 4; ++step) {
      std::vector<int32_t> tokens(n);
      std::vector<BatchItem> items;
      for (int i = 0; i < n; ++i) {
        tokens[i] = (53 * step + 17 * i) % 512;
        items.push_back({.sequence = &seqs[i], .tokens = std::span(&tokens[i], 1)});
      }
      pass.run(items);
      for (int i = 0; i < n; ++i)
        EXPECT_EQ(copy(pass.logits(i)), copy(alone[i].decode(tokens[i])))
            << "sequence " << i << " step " << step;
    }
  }
}

}  // namespace
}  // namespace tf
