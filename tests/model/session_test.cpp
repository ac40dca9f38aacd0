// Session behaviour on the tiny fixture: prefill == decode steps around the delta-rule chunk
// size, batching, continuing a sequence after decode, reset, embeddings input, rope delta,
// errors that leave the state untouched.
#include <gtest/gtest.h>

#include "model_test_util.h"

namespace tf {
namespace {

using test::max_row_relative_l2;
using test::random_tokens;
using test::tiny_dir;

// Prefill (batched matmuls) vs decode (matvec kernels) differ only by float32 summation order,
// which this sensitive random model amplifies: observed ≤ 7e-6 with the scalar kernels and
// ≤ 1.6e-5 with the AVX-512 ones. 1e-4 leaves room for other SIMD targets while a real fault (state not carried, a chunk boundary or position
// off by one) shows up as errors of 1e-2 and more.
constexpr double kSameMath = 1e-4;

class SessionTest : public test::TinyModelSuite<> {
 protected:
  int64_t V() const { return model_->vocab_size(); }
};

TEST_F(SessionTest, LengthOneMatchesFixtureFirstRow) {
  const auto tokens = test::fixture_tokens("seq16");
  const NpyArray ref = read_npy(tiny_dir() + "/logits_seq16.npy");
  Session s(*model_);
  auto l = s.prefill(std::span<const int32_t>(tokens.data(), 1), true);
  ASSERT_EQ(static_cast<int64_t>(l.size()), V());
  EXPECT_LE(test::relative_l2(l.data(), ref.data.data(), V()), 1e-3);
  EXPECT_EQ(s.length(), 1);
  Session d(*model_);
  auto ld = d.decode(tokens[0]);
  EXPECT_LE(test::relative_l2(ld.data(), l.data(), V()), kSameMath);
}

TEST_F(SessionTest, PrefillEqualsDecodeAroundChunkSize) {
  const auto tokens = random_tokens(130, 7);
  for (int n : {2, 63, 64, 65, 129, 130}) {
    std::vector<int32_t> t(tokens.begin(), tokens.begin() + n);
    const auto p = test::prefill_logits(*model_, t);
    const auto d = test::decode_logits(*model_, t);
    ASSERT_EQ(p.size(), d.size());
    EXPECT_LE(max_row_relative_l2(p, d, V()), kSameMath) << "length " << n;
  }
}

TEST_F(SessionTest, PromptLongerThanOneBatch) {
  const auto tokens = random_tokens(100, 11);
  const auto whole = test::prefill_logits(*model_, tokens, {.prefill_batch = 256});
  for (int64_t batch : {1, 7, 64, 99}) {
    const auto pieces = test::prefill_logits(*model_, tokens, {.prefill_batch = batch});
    EXPECT_LE(max_row_relative_l2(pieces, whole, V()), kSameMath) << "batch " << batch;
  }
  // Last-token-only output of a batched prefill is the last row.
  Session s(*model_, {.prefill_batch = 16});
  auto last = s.prefill(tokens);
  ASSERT_EQ(static_cast<int64_t>(last.size()), V());
  EXPECT_LE(test::relative_l2(last.data(), whole.data() + 99 * V(), V()), kSameMath);
  EXPECT_EQ(s.length(), 100);
}

TEST_F(SessionTest, SecondPrefillAfterDecodeContinuesTheSequence) {
  const auto tokens = random_tokens(90, 3);
  const auto whole = test::prefill_logits(*model_, tokens);
  Session s(*model_);
  s.prefill(std::span<const int32_t>(tokens.data(), 40));
  for (int i = 40; i < 45; ++i) {
    auto l = s.decode(tokens[i]);
    EXPECT_LE(test::relative_l2(l.data(), whole.data() + i * V(), V()), kSameMath) << i;
  }
  auto rest = s.prefill(std::span<const int32_t>(tokens.data() + 45, 45), true);
  ASSERT_EQ(static_cast<int64_t>(rest.size()), 45 * V());
  std::vector<float> tail(whole.begin() + 45 * V(), whole.end());
  EXPECT_LE(max_row_relative_l2({rest.begin(), rest.end()}, tail, V()), kSameMath);
  EXPECT_EQ(s.length(), 90);
}

TEST_F(SessionTest, ResetStartsOver) {
  const auto tokens = random_tokens(20, 5);
  Session s(*model_);
  auto first = s.prefill(tokens, true);
  std::vector<float> a(first.begin(), first.end());
  s.decode(1);
  s.reset();
  EXPECT_EQ(s.length(), 0);
  auto second = s.prefill(tokens, true);
  EXPECT_EQ(a, std::vector<float>(second.begin(), second.end()));
}

TEST_F(SessionTest, EmbeddingsInputMatchesTokens) {
  const auto tokens = random_tokens(12, 9);
  std::vector<float> emb(tokens.size() * model_->hidden_size());
  model_->embed(tokens, emb.data());
  std::vector<Position3> pos;
  for (size_t i = 0; i < tokens.size(); ++i) pos.push_back(Position3::text(i));
  Session a(*model_), b(*model_);
  auto la = a.prefill(tokens, true);
  auto lb = b.prefill_embeddings(emb, pos, true);
  EXPECT_EQ(std::vector<float>(la.begin(), la.end()), std::vector<float>(lb.begin(), lb.end()));
  EXPECT_THROW(b.prefill_embeddings(std::span<const float>(emb.data(), 5), pos), std::invalid_argument);
}

TEST_F(SessionTest, RopeDeltaShiftsPositionsButNotTextLogits) {
  // With the same shift on every axis only relative positions enter the attention scores, so
  // text logits barely move (float rounding of the angles); the positions themselves do.
  const auto tokens = random_tokens(30, 13);
  const auto base = test::prefill_logits(*model_, tokens);
  Session s(*model_);
  s.set_rope_delta(1000);
  EXPECT_EQ(s.next_position(), 1000);
  auto l = s.prefill(tokens, true);
  EXPECT_EQ(s.next_position(), 1030);
  EXPECT_LE(max_row_relative_l2({l.begin(), l.end()}, base, V()), 1e-4);
}

TEST_F(SessionTest, BadTokenThrowsAndLeavesStateUntouched) {
  Session s(*model_);
  s.prefill(std::vector<int32_t>{1, 2, 3});
  EXPECT_THROW(s.prefill(std::vector<int32_t>{4, 512}), std::out_of_range);
  EXPECT_THROW(s.decode(-1), std::out_of_range);
  EXPECT_EQ(s.length(), 3);
  // The sequence continues as if the bad calls never happened.
  auto l = s.decode(4);
  const auto ref = test::prefill_logits(*model_, {1, 2, 3, 4});
  EXPECT_LE(test::relative_l2(l.data(), ref.data() + 3 * V(), V()), kSameMath);
  EXPECT_TRUE(s.prefill(std::vector<int32_t>{}).empty());
}

}  // namespace
}  // namespace tf
