// A compiled regular expression (PCRE2, UTF + UCP, JIT when available) with limits that make a
// hostile pattern an error instead of a hang or a crash: PCRE2 matches with bounded work and
// memory (unlike std::regex, whose backtracking is exponential and whose compiler recurses
// once per nested group). Used for recipe rules and, through tokenizer/regex.h, for the
// pre-tokenizer and normalizer patterns of tokenizer.json.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace tf {

// The limits, written once. Real patterns need a few hundred steps per match and nest groups
// a handful of levels deep.
struct RegexLimits {
  // Calls of PCRE2's internal match function for one match attempt (its documented default,
  // made explicit): stops catastrophic backtracking after well under a second.
  static constexpr uint32_t kMatchSteps = 10'000'000;
  // Backtracking memory for one match attempt (PCRE2's default is 20 GB).
  static constexpr uint32_t kHeapKiB = 64 * 1024;
  // Nested parentheses in a pattern (PCRE2's default, made explicit).
  static constexpr uint32_t kGroupNesting = 250;
  // Longest pattern accepted.
  static constexpr size_t kPatternBytes = 64 * 1024;
};

class Regex {
 public:
  // Throws std::runtime_error naming the pattern (as `shown_as`, if given) and the offset
  // PCRE2 rejected.
  explicit Regex(std::string_view pattern, std::string_view shown_as = {});
  ~Regex();
  Regex(Regex&&) noexcept;
  Regex& operator=(Regex&&) noexcept;
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  // Whether the pattern matches anywhere in `text` (any bytes; invalid UTF-8 is an error).
  bool search(std::string_view text) const;

  // Calls on_match(begin, end) (byte offsets) for every non-overlapping match, left to right.
  // `text` must be valid UTF-8. Safe to call from several threads at once.
  void for_each_match(std::string_view text, const std::function<void(size_t, size_t)>& on_match) const;

  // The pattern as the user wrote it (before any rewrite by the caller).
  const std::string& pattern() const { return pattern_; }

 private:
  struct Impl;
  std::string pattern_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tf
