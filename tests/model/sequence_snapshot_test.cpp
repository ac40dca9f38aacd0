// Sequence snapshots (model/sequence.h): the state copied out of one sequence and loaded into
// another continues exactly like the original — what the engine's prompt cache relies on.
#include <gtest/gtest.h>

#include <stdexcept>
#include <vector>

#include "model/forward_pass.h"
#include "model_test_util.h"

namespace tf {
namespace {

using test::random_tokens;

class SequenceSnapshotTest : public test::TinyModelSuite<> {
 protected:
  std::vector<float> feed(ForwardPass& pass, Sequence& seq, std::span<const int32_t> tokens) {
    BatchItem item;
    item.sequence = &seq;
    item.tokens = tokens;
    pass.run(std::span(&item, 1));
    const std::span<const float> logits = pass.logits(0);
    return {logits.begin(), logits.end()};
  }
};

TEST_F(SequenceSnapshotTest, ALoadedSnapshotContinuesLikeTheSequenceItCameFrom) {
  for (KVType type : {KVType::F32, KVType::F16}) {
    ForwardPass pass(*model_, {});
    const auto prompt = random_tokens(37, 11), continuation = random_tokens(6, 12);
    Sequence source(*model_, type, 128);
    feed(pass, source, prompt);
    const SequenceSnapshot snap = source.snapshot();
    EXPECT_EQ(snap.length, 37);
    EXPECT_GT(snap.bytes(), 0u);
    const std::vector<float> expected = feed(pass, source, continuation);

    // Into a sequence that held something else: its old state is gone.
    Sequence other(*model_, type, 128);
    feed(pass, other, random_tokens(50, 13));
    other.load_snapshot(snap);
    EXPECT_EQ(other.length(), 37);
    EXPECT_EQ(feed(pass, other, continuation), expected);
    // Checkpoints taken before the load do not survive it.
    Sequence third(*model_, type, 128);
    feed(pass, third, random_tokens(40, 14));
    const SequenceCheckpoint before = third.checkpoint();
    third.load_snapshot(snap);
    EXPECT_FALSE(third.can_restore(before));
  }
}

TEST_F(SequenceSnapshotTest, SnapshotIntoReusesTheBuffersOfAnEarlierOne) {
  ForwardPass pass(*model_, {});
  const auto continuation = random_tokens(5, 18);
  // A longer earlier snapshot (as an evicted prompt-cache entry) is overwritten in place.
  Sequence longer(*model_, KVType::F16, 128);
  feed(pass, longer, random_tokens(60, 16));
  SequenceSnapshot reused = longer.snapshot();
  std::vector<const void*> buffers;
  for (const GatedDeltaNetState& s : reused.gdn) buffers.push_back(s.recurrent.data());
  for (const std::vector<uint8_t>& rows : reused.kv) buffers.push_back(rows.data());

  Sequence source(*model_, KVType::F16, 128);
  feed(pass, source, random_tokens(30, 17));
  source.snapshot_into(reused);
  const SequenceSnapshot fresh = source.snapshot();
  EXPECT_EQ(reused.length, 30);
  EXPECT_EQ(reused.bytes(), fresh.bytes());
  EXPECT_EQ(reused.kv, fresh.kv);
  size_t b = 0;
  for (const GatedDeltaNetState& s : reused.gdn) EXPECT_EQ(s.recurrent.data(), buffers[b++]);
  for (const std::vector<uint8_t>& rows : reused.kv) EXPECT_EQ(rows.data(), buffers[b++]);

  const std::vector<float> expected = feed(pass, source, continuation);
  Sequence other(*model_, KVType::F16, 128);
  other.load_snapshot(reused);
  EXPECT_EQ(feed(pass, other, continuation), expected);
}

TEST_F(SequenceSnapshotTest, RefusesAnotherKVTypeOrTooSmallACapacity) {
  ForwardPass pass(*model_, {});
  Sequence source(*model_, KVType::F32, 128);
  feed(pass, source, random_tokens(20, 15));
  const SequenceSnapshot snap = source.snapshot();
  Sequence f16(*model_, KVType::F16, 128);
  EXPECT_THROW(f16.load_snapshot(snap), std::invalid_argument);
  Sequence small(*model_, KVType::F32, 10);
  EXPECT_THROW(small.load_snapshot(snap), std::length_error);
  EXPECT_EQ(small.length(), 0);
}

}  // namespace
}  // namespace tf
