// Sequence state you can return to (model/sequence.h) on the tiny fixture: forks of a shared
// prompt continue exactly like a sequence that only saw that prompt; rewinding after a batch
// fed with keep_states equals feeding only the kept prefix (speculative decoding), for every
// prefix; and hidden states out (model/forward_pass.h).
#include <span>
#include <gtest/gtest.h>

#include <stdexcept>
#include <vector>

#include "kernels/linear.h"
#include "model/forward_pass.h"
#include "model_test_util.h"

namespace tf {
namespace {

using test::random_tokens;

// Rewinding takes the DeltaNet states the verify batch went through token by token; the
// reference feeds the kept prefix in one batch, and the matrix products see k rows instead of
// m. The two differ by float rounding only. Caches are
// float32 (an f16 cache would round those last-bit differences to 2^-11 steps now and then:
// batched_forward_test.cpp).
constexpr double kSameState = 1e-5;

class SequenceStateTest : public test::TinyModelSuite<> {
 protected:
  int64_t V() const { return model_->vocab_size(); }
  static std::vector<float> copy(std::span<const float> s) { return {s.begin(), s.end()}; }

  // Runs one batch of `tokens` on `seq` alone; returns the logits rows asked for.
  std::vector<float> feed(ForwardPass& pass, Sequence& seq, std::span<const int32_t> tokens,
                          OutputRows logits = OutputRows::Last, bool keep_states = false) {
    const BatchItem item{.sequence = &seq, .tokens = tokens, .logits = logits,
                         .keep_states = keep_states};
    pass.run(std::span(&item, 1));
    return copy(pass.logits(0));
  }

  // Largest relative L2 difference between two sequences' DeltaNet states (conv and recurrent)
  // over every layer.
  static double state_difference(const Sequence& a, const Sequence& b) {
    const SequenceCheckpoint ca = a.checkpoint(), cb = b.checkpoint();
    double worst = 0;
    auto compare = [&](std::span<const float> x, std::span<const float> y) {
      EXPECT_EQ(x.size(), y.size());
      if (!y.empty() && x.size() == y.size())
        worst = std::max(worst, test::relative_l2(x.data(), y.data(), y.size()));
    };
    for (size_t i = 0; i < ca.gdn.size(); ++i) {
      compare(ca.gdn[i].conv, cb.gdn[i].conv);
      compare(ca.gdn[i].recurrent, cb.gdn[i].recurrent);
    }
    return worst;
  }
};

TEST_F(SequenceStateTest, ForksContinueLikeTheSharedPrompt) {
  const auto prompt = random_tokens(45, 1), detour = random_tokens(12, 2);
  ForwardPass pass(*model_, {});
  Sequence source(*model_, KVType::F32);
  feed(pass, source, prompt);
  const SequenceCheckpoint shared = source.checkpoint();
  feed(pass, source, detour);  // the source moves on; forks still start from the prompt

  for (uint32_t seed : {3u, 4u}) {
    const auto continuation = random_tokens(9, seed);
    Sequence fork = source.fork(shared);
    EXPECT_EQ(fork.length(), 45);
    EXPECT_EQ(fork.kv_cache_bytes() * 57, source.kv_cache_bytes() * 45);
    const auto got = feed(pass, fork, continuation, OutputRows::All);
    Session fresh(*model_, {.kv_type = KVType::F32});
    fresh.prefill(prompt);
    // Same calls on the same state: bit-identical.
    EXPECT_EQ(got, copy(fresh.prefill(continuation, true))) << "seed " << seed;
  }
  EXPECT_EQ(source.length(), 57);

  Sequence other(*model_, KVType::F32);
  EXPECT_THROW(other.fork(shared), std::logic_error);  // another sequence's checkpoint
}

// Speculative decoding: feed k tokens with keep_states, read all k logits, keep the first m.
// The state after rewinding equals that of a sequence fed only those m tokens, and so do the
// next logits, for every m in 0 … k; a second sequence decodes in the same batch undisturbed.
TEST_F(SequenceStateTest, RewindEqualsFeedingOnlyTheKeptPrefix) {
  const auto prompt = random_tokens(30, 5), drafts = random_tokens(5, 6);
  const int32_t after = 77;
  const int64_t k = static_cast<int64_t>(drafts.size());
  ForwardPass pass(*model_, {});
  for (int64_t m = 0; m <= k; ++m) {
    SCOPED_TRACE("kept " + std::to_string(m));
    Sequence seq(*model_, KVType::F32), neighbour(*model_, KVType::F32);
    feed(pass, seq, prompt);
    feed(pass, neighbour, random_tokens(8, 7));
    const SequenceCheckpoint before = seq.checkpoint();
    const int32_t neighbour_token = 9;
    const BatchItem verify[] = {
        {.sequence = &seq, .tokens = drafts, .logits = OutputRows::All, .keep_states = true},
        {.sequence = &neighbour, .tokens = std::span(&neighbour_token, 1)}};
    pass.run(verify);
    const auto verify_logits = copy(pass.logits(0));
    ASSERT_EQ(static_cast<int64_t>(verify_logits.size()), k * V());
    EXPECT_EQ(seq.rewind_floor(), 30);
    seq.rewind(30 + m);
    EXPECT_EQ(seq.length(), 30 + m);
    EXPECT_TRUE(seq.can_restore(before));

    Sequence ref(*model_, KVType::F32);
    feed(pass, ref, prompt);
    std::vector<float> ref_logits;
    if (m > 0)
      ref_logits = feed(pass, ref, std::span(drafts.data(), static_cast<size_t>(m)),
                        OutputRows::All);
    EXPECT_LE(state_difference(seq, ref), kSameState);
    EXPECT_EQ(seq.kv_cache_bytes(), ref.kv_cache_bytes());
    // The verify batch's first m rows are the logits of the kept tokens.
    for (int64_t r = 0; r < m; ++r)
      EXPECT_LE(test::relative_l2(verify_logits.data() + r * V(), ref_logits.data() + r * V(),
                                  V()),
                kSameState)
          << "row " << r;
    // And the sequence continues like the reference.
    const auto next = feed(pass, seq, std::span(&after, 1));
    const auto ref_next = feed(pass, ref, std::span(&after, 1));
    EXPECT_LE(test::relative_l2(next.data(), ref_next.data(), V()), kSameState);
    EXPECT_EQ(test::argmax(next.data(), V()), test::argmax(ref_next.data(), V()));
    EXPECT_EQ(seq.length(), 31 + m);
    EXPECT_EQ(neighbour.length(), 9);
  }
}

TEST_F(SequenceStateTest, RewindStepsBackWithinTheLastKeptBatchOnly) {
  ForwardPass pass(*model_, {});
  Sequence seq(*model_, KVType::F32);
  feed(pass, seq, random_tokens(10, 8));
  EXPECT_EQ(seq.rewind_floor(), 10);  // fed without keep_states: nothing to rewind
  EXPECT_THROW(seq.rewind(9), std::logic_error);
  const SequenceCheckpoint at10 = seq.checkpoint();
  const auto drafts = random_tokens(4, 9);
  feed(pass, seq, drafts, OutputRows::All, true);
  const SequenceCheckpoint at14 = seq.checkpoint();
  seq.rewind(13);
  seq.rewind(11);  // a second, shorter rewind of the same batch
  EXPECT_THROW(seq.rewind(12), std::logic_error);  // cannot go forward again
  EXPECT_THROW(seq.rewind(9), std::logic_error);   // before the batch
  EXPECT_TRUE(seq.can_restore(at10));
  EXPECT_FALSE(seq.can_restore(at14));  // the rewind cut below it

  Sequence ref(*model_, KVType::F32);
  feed(pass, ref, random_tokens(10, 8));
  feed(pass, ref, std::span(drafts.data(), 1));
  EXPECT_LE(state_difference(seq, ref), kSameState);

  const std::vector<int32_t> more = {1, 2};
  feed(pass, seq, more);  // a forward without keep_states ends the rewindable batch
  EXPECT_EQ(seq.rewind_floor(), 13);
  EXPECT_THROW(seq.rewind(12), std::logic_error);
}

// Quantized KV caches (q8 / q4 / q2, 32-wide heads as one group): a fork copies the packed rows
// with their scales, so it continues bit-identically to a session that saw only the prompt; a
// rewind cuts the packed rows like float ones, and the quantization of a row depends on that row
// alone, so what follows equals a sequence fed only the kept prefix.
TEST_F(SequenceStateTest, ForkAndRewindKeepWorkingWithQuantizedCaches) {
  const auto prompt = random_tokens(37, 11), detour = random_tokens(6, 12),
             next = random_tokens(5, 13), drafts = random_tokens(4, 14);
  ForwardPass pass(*model_, {});
  for (KVType type : {KVType::Q8, KVType::Q4, KVType::Q2}) {
    SCOPED_TRACE(kv_type_name(type));
    Sequence source(*model_, type, 0, 32);
    feed(pass, source, prompt);
    const SequenceCheckpoint shared = source.checkpoint();
    feed(pass, source, detour);
    Sequence fork = source.fork(shared);
    EXPECT_EQ(fork.kv_group_size(), 32);
    const auto got = feed(pass, fork, next, OutputRows::All);
    Session fresh(*model_, {.kv_type = type, .kv_group_size = 32});
    fresh.prefill(prompt);
    EXPECT_EQ(got, copy(fresh.prefill(next, true)));

    // Rewind: keep 2 of 4 drafts, then continue; the reference fed only those 2.
    Sequence seq(*model_, type, 0, 32), ref(*model_, type, 0, 32);
    feed(pass, seq, prompt);
    feed(pass, seq, drafts, OutputRows::All, true);
    seq.rewind(39);
    feed(pass, ref, prompt);
    feed(pass, ref, std::span(drafts.data(), 2));
    EXPECT_EQ(seq.kv_cache_bytes(), ref.kv_cache_bytes());
    EXPECT_LE(state_difference(seq, ref), kSameState);
    const auto a = feed(pass, seq, next, OutputRows::All);
    const auto b = feed(pass, ref, next, OutputRows::All);
    // The rows the two wrote may differ by the DeltaNet rounding (kSameState) moved across a
    // rounding boundary of a code now and then: same logits up to a code step's effect.
    EXPECT_LE(test::relative_l2(a.data(), b.data(), a.size()), 2e-2);
  }
}

// Hidden states out: the final-norm output of the rows asked for, what the head multiplies;
// logits only for the rows asked for.
TEST_F(SequenceStateTest, HiddenStatesAreWhatTheHeadReads) {
  const auto tokens = random_tokens(11, 10);
  const int64_t H = model_->hidden_size(), T = 11;
  ForwardPass pass(*model_, {});
  Sequence a(*model_, KVType::F32), b(*model_, KVType::F32), c(*model_, KVType::F32);
  const BatchItem items[] = {
      {.sequence = &a, .tokens = tokens, .logits = OutputRows::All, .hidden = OutputRows::All},
      {.sequence = &b, .tokens = tokens, .logits = OutputRows::None, .hidden = OutputRows::Last},
      {.sequence = &c, .tokens = tokens, .logits = OutputRows::Last, .hidden = OutputRows::None}};
  pass.run(items);
  const auto logits = copy(pass.logits(0)), hidden = copy(pass.hidden(0));
  ASSERT_EQ(static_cast<int64_t>(logits.size()), T * V());
  ASSERT_EQ(static_cast<int64_t>(hidden.size()), T * H);
  EXPECT_TRUE(pass.logits(1).empty());
  EXPECT_TRUE(pass.hidden(2).empty());
  ASSERT_EQ(static_cast<int64_t>(pass.hidden(1).size()), H);
  ASSERT_EQ(static_cast<int64_t>(pass.logits(2).size()), V());
  EXPECT_LE(test::relative_l2(pass.hidden(1).data(), hidden.data() + (T - 1) * H, H), 1e-6);
  EXPECT_LE(test::relative_l2(pass.logits(2).data(), logits.data() + (T - 1) * V(), V()), 1e-6);

  // logits = W_head · hidden, row by row (in double, against the dequantized head).
  std::vector<float> head(V() * H);
  dequantize_rows(model_->weights().lm_head, 0, V(), head.data());
  for (int64_t t = 0; t < T; ++t) {
    std::vector<float> want(V());
    for (int64_t v = 0; v < V(); ++v) {
      double sum = 0;
      for (int64_t i = 0; i < H; ++i) sum += double(head[v * H + i]) * hidden[t * H + i];
      want[v] = static_cast<float>(sum);
    }
    EXPECT_LE(test::relative_l2(logits.data() + t * V(), want.data(), V()), 1e-5) << t;
  }
}

}  // namespace
}  // namespace tf
