// Prefill at depth (model/gated_attention.cpp): a batch continuing a sequence that already holds
// rows reads those rows once per block of query tokens (kQueryBlock) and merges each token's
// own new rows in; the logits equal feeding the same tokens one decode step at a time (the
// per-token path) up to float rounding, for a float and a quantized cache, for blocks cut at
// kQueryBlock and for a batch of two sequences at different depths.
#include <gtest/gtest.h>

#include <vector>

#include "model/forward_pass.h"
#include "model/gated_attention.h"
#include "model_test_util.h"

namespace tf {
namespace {

using test::random_tokens;

class PrefillAtDepth : public test::TinyModelSuite<> {
 protected:
  static std::vector<float> copy(std::span<const float> s) { return {s.begin(), s.end()}; }
};

TEST_F(PrefillAtDepth, EqualsTokenByTokenDecode) {
  const int64_t V = model_->vocab_size();
  const auto prefix = random_tokens(kQueryBlockMinDepth + 25, 21);
  const auto next = random_tokens(2 * kQueryBlock + 5, 22);  // three blocks, the last partial
  for (KVType type : {KVType::F32, KVType::Q4}) {
    SCOPED_TRACE(kv_type_name(type));
    Session block(*model_, {.kv_type = type, .kv_group_size = 32});
    Session step(*model_, {.kv_type = type, .kv_group_size = 32});
    block.prefill(prefix);
    step.prefill(prefix);
    const auto got = copy(block.prefill(next, true));
    ASSERT_EQ(got.size(), next.size() * V);
    for (size_t i = 0; i < next.size(); ++i) {
      const auto want = copy(step.decode(next[i]));
      // Float cache: rounding only. q4: a key or value computed in another order may round to
      // the neighbouring code now and then.
      EXPECT_LE(test::relative_l2(got.data() + i * V, want.data(), V),
                type == KVType::F32 ? 1e-5 : 2e-2)
          << "token " << i;
    }
  }
}

// Two sequences in one batch, each continuing at its own depth: each equals the sequence fed
// alone token by token.
TEST_F(PrefillAtDepth, TwoSequencesAtDifferentDepths) {
  const int64_t V = model_->vocab_size();
  ForwardPass pass(*model_, {});
  Sequence a(*model_, KVType::F32), b(*model_, KVType::F32);
  const auto pa = random_tokens(40, 31), pb = random_tokens(70, 32);
  const auto na = random_tokens(20, 33), nb = random_tokens(9, 34);
  for (auto [seq, toks] : {std::pair{&a, &pa}, std::pair{&b, &pb}}) {
    const BatchItem item{.sequence = seq, .tokens = *toks};
    pass.run(std::span(&item, 1));
  }
  const BatchItem both[] = {{.sequence = &a, .tokens = na, .logits = OutputRows::All},
                            {.sequence = &b, .tokens = nb, .logits = OutputRows::All}};
  pass.run(both);
  const auto got_a = copy(pass.logits(0)), got_b = copy(pass.logits(1));
  for (auto [prompt, next, got] : {std::tuple{&pa, &na, &got_a}, std::tuple{&pb, &nb, &got_b}}) {
    Session ref(*model_, {.kv_type = KVType::F32});
    ref.prefill(*prompt);
    for (size_t i = 0; i < next->size(); ++i) {
      const auto want = copy(ref.decode((*next)[i]));
      EXPECT_LE(test::relative_l2(got->data() + i * V, want.data(), V), 1e-5) << i;
    }
  }
}

}  // namespace
}  // namespace tf
