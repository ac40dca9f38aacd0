// The "normalizer" stage of tokenizer.json: applied to the text between added tokens before
// it is split (Qwen3.5 uses NFC, spec §7.1). Steps are data read from the JSON; a Sequence
// is flattened into one list.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "tokenizer/regex.h"
#include "tokenizer/unicode_normalize.h"

namespace tf::tokenizer {

class Normalizer {
 public:
  // `spec` is the "normalizer" value (null = none). Throws naming the unsupported type or the
  // malformed field.
  static Normalizer from_json(const nlohmann::json& spec);

  std::string apply(std::string_view text) const;
  bool empty() const { return steps_.empty(); }

 private:
  enum class Kind { kUnicode, kLowercase, kStripAccents, kStrip, kReplace, kPrepend };
  struct Step {
    Kind kind;
    NormalForm form = NormalForm::kNFC;
    bool strip_left = false, strip_right = false;
    std::string literal;                  // Replace (string pattern) / Prepend
    std::shared_ptr<const Regex> regex;   // Replace (regex pattern)
    std::string content;                  // Replace
  };
  static void add_steps(const nlohmann::json& spec, std::vector<Step>& steps);
  std::vector<Step> steps_;
};

// Replaces every occurrence of `from` (non-empty) with `to`.
std::string replace_all(std::string_view text, std::string_view from, std::string_view to);

}  // namespace tf::tokenizer
