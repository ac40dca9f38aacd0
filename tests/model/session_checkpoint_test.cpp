// Session checkpoints on the tiny fixture: restoring gives exactly the state of a session that
// only ever saw the checkpoint's prefix, whatever came after it; checkpoints that a later cut
// invalidated are refused.
#include <gtest/gtest.h>

#include <stdexcept>
#include <vector>

#include "model_test_util.h"

namespace tf {
namespace {

using test::random_tokens;

class SessionCheckpointTest : public test::TinyModelSuite<> {
 protected:
  static std::vector<float> copy(std::span<const float> s) { return {s.begin(), s.end()}; }
};

// Same calls in the same order give bit-identical logits, so a restored session must match a
// fresh one fed the same batches exactly (no tolerance).
TEST_F(SessionCheckpointTest, RestoreThenContinueEqualsFreshSession) {
  const auto prefix = random_tokens(37, 1), detour = random_tokens(70, 2), next = random_tokens(20, 3);
  Session s(*model_);
  s.prefill(prefix);
  const SequenceCheckpoint cp = s.checkpoint();
  EXPECT_EQ(cp.length, 37);
  s.prefill(detour);  // crosses a delta-rule chunk boundary and grows the KV cache
  for (int32_t t : {5, 6, 7}) s.decode(t);
  ASSERT_TRUE(s.can_restore(cp));
  s.restore(cp);
  EXPECT_EQ(s.length(), 37);
  const auto restored = copy(s.prefill(next, true));
  const auto restored_decode = copy(s.decode(42));

  Session fresh(*model_);
  fresh.prefill(prefix);
  const auto expected = copy(fresh.prefill(next, true));
  const auto expected_decode = copy(fresh.decode(42));
  EXPECT_EQ(restored, expected);
  EXPECT_EQ(restored_decode, expected_decode);
  EXPECT_EQ(s.length(), fresh.length());
}

TEST_F(SessionCheckpointTest, RestoringTwiceAndAtLengthZero) {
  const auto a = random_tokens(10, 4), b = random_tokens(5, 5);
  Session s(*model_);
  const SequenceCheckpoint empty = s.checkpoint();
  s.prefill(a);
  const SequenceCheckpoint cp = s.checkpoint();
  s.prefill(b);
  s.restore(cp);
  const auto first = copy(s.prefill(b));
  ASSERT_TRUE(s.can_restore(cp));  // cut back to exactly its length: still intact
  s.restore(cp);
  EXPECT_EQ(copy(s.prefill(b)), first);

  s.restore(empty);
  EXPECT_EQ(s.length(), 0);
  const auto from_empty = copy(s.prefill(a));
  Session fresh(*model_);
  EXPECT_EQ(from_empty, copy(fresh.prefill(a)));
}

TEST_F(SessionCheckpointTest, RopeDeltaIsRestored) {
  Session s(*model_);
  s.set_rope_delta(-3);
  s.prefill(random_tokens(4, 6));
  const SequenceCheckpoint cp = s.checkpoint();
  s.set_rope_delta(9);
  s.prefill(random_tokens(2, 7));
  s.restore(cp);
  EXPECT_EQ(s.rope_delta(), -3);
  EXPECT_EQ(s.next_position(), 1);
}

TEST_F(SessionCheckpointTest, InvalidatedCheckpointsAreRefused) {
  const auto a = random_tokens(12, 8);
  Session s(*model_), other(*model_);
  s.prefill(a);
  const SequenceCheckpoint early = s.checkpoint();
  s.prefill(a);
  const SequenceCheckpoint late = s.checkpoint();

  EXPECT_FALSE(other.can_restore(late));          // another session's
  EXPECT_FALSE(s.can_restore(SequenceCheckpoint{}));  // never taken
  EXPECT_THROW(other.restore(late), std::logic_error);

  s.restore(early);
  EXPECT_FALSE(s.can_restore(late));  // longer than the sequence now
  s.prefill(a);                       // same length as `late` again, but other KV rows
  EXPECT_EQ(s.length(), late.length);
  EXPECT_FALSE(s.can_restore(late));  // a cut below it happened since
  EXPECT_TRUE(s.can_restore(early));
  EXPECT_THROW(s.restore(late), std::logic_error);
  EXPECT_EQ(s.length(), 24);  // a refused restore changes nothing

  s.reset();
  s.prefill(a);
  s.prefill(a);
  EXPECT_FALSE(s.can_restore(early));  // reset cut everything
  const SequenceCheckpoint after_reset = s.checkpoint();
  EXPECT_TRUE(s.can_restore(after_reset));
}

}  // namespace
}  // namespace tf
