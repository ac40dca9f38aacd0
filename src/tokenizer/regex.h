// A compiled Unicode regular expression (PCRE2, UTF + UCP, JIT when available) for the
// pre-tokenizer's split pattern and regex normalizers. Hugging Face compiles these patterns
// with Oniguruma; PCRE2 has the same syntax for everything tokenizer files use (Unicode
// properties, lookahead, inline flags). The one semantic gap, \s not matching U+0085 (NEL),
// is closed by rewriting the pattern (see regex.cpp).
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace tf::tokenizer {

class Regex {
 public:
  // Throws std::runtime_error naming the pattern and the offset PCRE2 rejected.
  explicit Regex(std::string_view pattern);
  ~Regex();
  Regex(Regex&&) noexcept;
  Regex& operator=(Regex&&) noexcept;
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  // Calls on_match(begin, end) (byte offsets) for every non-overlapping match, left to right.
  // `text` must be valid UTF-8. Safe to call from several threads at once.
  void for_each_match(std::string_view text,
                      const std::function<void(size_t, size_t)>& on_match) const;

  const std::string& pattern() const { return pattern_; }

 private:
  struct Impl;
  std::string pattern_;
  std::unique_ptr<Impl> impl_;
};

// The Oniguruma-compatible rewrite applied before compiling (exposed for tests).
std::string onig_compatible_pattern(std::string_view pattern);

}  // namespace tf::tokenizer
