// Degenerate-repetition detector: low-bit models sometimes fall into a loop, emitting the same
// token n-gram over and over until max tokens. The guard watches the tail of the generated
// tokens and fires when it is one n-gram (n <= max_period) repeated at least min_repeats times
// covering at least min_span tokens, e.g. with the defaults one token 128 times in a row, a
// 2-gram 64 times, a 16-gram 8 times, a 64-gram 4 times.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tf {

struct LoopGuardConfig {
  bool enabled = true;
  int max_period = 64;   // longest repeated n-gram looked for
  int min_repeats = 4;   // at least this many back-to-back copies...
  int min_span = 128;    // ...covering at least this many tokens
};

class LoopGuard {
 public:
  explicit LoopGuard(LoopGuardConfig config = {});

  // Adds one generated token; true once the tail is a degenerate loop (stays true).
  bool push(int32_t token);

  bool fired() const { return period_ > 0; }
  int period() const { return period_; }    // n of the repeated n-gram
  int repeats() const { return repeats_; }  // back-to-back copies when it fired
  // One line for the user, empty before the guard fired.
  std::string notice() const;

 private:
  LoopGuardConfig config_;
  std::vector<int32_t> tail_;  // last max_period + 1 tokens (ring buffer)
  size_t count_ = 0;           // tokens pushed so far
  // run_[p]: how many of the latest tokens equal the token p positions before them, in a row.
  // The tail is then periodic with period p over run_[p] + p tokens. O(max_period) per token.
  std::vector<int64_t> run_;
  int period_ = 0;
  int repeats_ = 0;
};

}  // namespace tf
