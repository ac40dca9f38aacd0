// The regular expressions of tokenizer.json: the pre-tokenizer's split pattern and regex
// normalizers. Hugging Face compiles these patterns with Oniguruma; PCRE2 has the same syntax for everything tokenizer files use (Unicode
// properties, lookahead, inline flags). The one semantic gap, \s not matching U+0085 (NEL),
// is closed by rewriting the pattern (see regex.cpp).
#pragma once

#include <string>
#include <string_view>

#include "base/regex.h"

namespace tf::tokenizer {

// tf::Regex (base/regex.h: PCRE2 with match limits) compiled from the Oniguruma-compatible
// rewrite of `pattern`; pattern() and messages show the pattern as written.
class Regex : public tf::Regex {
 public:
  // Throws std::runtime_error naming the pattern and the offset PCRE2 rejected.
  explicit Regex(std::string_view pattern);
};

// The Oniguruma-compatible rewrite applied before compiling (exposed for tests).
std::string onig_compatible_pattern(std::string_view pattern);

}  // namespace tf::tokenizer
