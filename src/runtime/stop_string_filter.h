// Stop strings matched on the decoded text as it streams, across token boundaries, without
// ever printing any part of a stop string: text that could still become a stop string is held
// back until it either completes one (then it is dropped) or cannot any more (then it prints).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace tf {

class StopStringFilter {
 public:
  // Empty stop strings are rejected (std::invalid_argument: "--stop: ...").
  explicit StopStringFilter(std::vector<std::string> stop_strings);

  struct Result {
    std::string text;      // safe to print now
    bool stopped = false;  // a stop string completed; `text` is what preceded it
  };

  // Appends the next piece of decoded text (whole UTF-8 characters, as the streaming decoder
  // gives them). After a stop, further pushes return nothing.
  Result push(std::string_view text);

  // Generation ended for another reason: the held-back text, which never became a stop string.
  std::string flush();

  bool stopped() const { return stopped_; }
  const std::string& matched() const { return matched_; }  // the stop string that fired
  size_t held_bytes() const { return held_.size(); }

 private:
  std::vector<std::string> stops_;
  std::string held_;
  std::string matched_;
  bool stopped_ = false;
};

}  // namespace tf
