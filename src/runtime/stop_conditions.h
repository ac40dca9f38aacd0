// When generation stops, and what of the decoded text may be printed: EOS ids, stop strings
// (never printed, matched across token boundaries), the max-token budget and the loop guard,
// in one object the generation loop feeds token by token.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "runtime/loop_guard.h"
#include "runtime/stop_string_filter.h"

namespace tf {

enum class StopReason { none, eos, stop_string, max_tokens, repetition_loop };

// "eos", "stop string", "max tokens", "repetition loop", "" for none.
const char* to_string(StopReason reason);

struct StopConfig {
  std::vector<int32_t> eos_token_ids;     // from generation_config.json and the tokenizer
  std::vector<std::string> stop_strings;  // --stop
  int max_tokens = 0;                     // > 0 required: generation is never unbounded
  LoopGuardConfig loop_guard;
};

class StopConditions {
 public:
  // Throws std::invalid_argument ("--max-tokens ...", "--stop ...") on a bad config.
  explicit StopConditions(StopConfig config);

  struct Step {
    std::string text;                   // print this now (possibly empty)
    StopReason stop = StopReason::none; // not none: generation is over, don't feed more
  };

  // One sampled token and the text the streaming decoder produced for it (empty while a
  // character is incomplete). An EOS token's text is never printed; text held back for a
  // possible stop string is released when generation stops for any other reason.
  Step push(int32_t token, std::string_view text);

  // The loop ended from outside (Ctrl-C, client gone): the held-back text.
  std::string flush() { return filter_.flush(); }

  bool is_eos(int32_t token) const { return eos_.count(token) != 0; }
  StopReason reason() const { return reason_; }
  // The stop string that ended generation (StopReason::stop_string), empty otherwise.
  const std::string& matched_stop_string() const { return filter_.matched(); }
  int tokens_seen() const { return tokens_; }  // tokens pushed, EOS included
  // A line to show the user for stops they may not expect (loop guard); empty otherwise.
  std::string notice() const;

 private:
  StopConfig config_;
  std::unordered_set<int32_t> eos_;
  StopStringFilter filter_;
  LoopGuard guard_;
  StopReason reason_ = StopReason::none;
  int tokens_ = 0;
};

}  // namespace tf
