// `tightfit bench --snapshot`: the cost of saving and restoring a sequence's whole state — what
// the engine's prompt cache pays per hit (runtime/bench.h, BenchOptions::snapshots).
#include <vector>

#include "model/sequence.h"
#include "runtime/bench.h"
#include "runtime/bench_clock.h"

namespace tf {

using namespace bench_clock;

SnapshotTiming bench_snapshot(const Model& m, KVType kv_type, int kv_group_size, int64_t depth,
                              int repeats, uint64_t seed) {
  SnapshotTiming t;
  t.depth = depth;
  Sequence source(m, kv_type, depth + 1, kv_group_size);
  source.extend_with_random_context(depth, seed);
  Sequence target(m, kv_type, depth + 1, kv_group_size);
  target.load_snapshot(source.snapshot());  // warm-up: the target's cache pages are touched
  SequenceSnapshot reused = source.snapshot();  // an earlier snapshot whose buffers get reused
  std::vector<double> save, recycled, restore;
  for (int i = 0; i < repeats; ++i) {
    Clock::time_point start = Clock::now();
    const SequenceSnapshot snapshot = source.snapshot();
    save.push_back(1e3 * seconds_since(start));
    start = Clock::now();
    source.snapshot_into(reused);
    recycled.push_back(1e3 * seconds_since(start));
    start = Clock::now();
    target.load_snapshot(snapshot);
    restore.push_back(1e3 * seconds_since(start));
    if (i == 0) {
      t.bytes = static_cast<double>(snapshot.bytes());
      for (const auto& s : snapshot.gdn)
        t.deltanet_bytes += static_cast<double>((s.conv.size() + s.recurrent.size()) * sizeof(float));
    }
  }
  t.snapshot_ms = BenchStat::of(save);
  t.recycled_snapshot_ms = BenchStat::of(recycled);
  t.restore_ms = BenchStat::of(restore);
  return t;
}

}  // namespace tf
