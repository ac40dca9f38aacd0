// The "pre_tokenizer" stage of tokenizer.json: cuts normalized text into pieces that BPE
// encodes independently (spec §7.1: Split by the regex, "Isolated", then ByteLevel without its
// own regex). Steps are data read from the JSON; each maps a list of pieces to a new list.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "tokenizer/regex.h"

namespace tf::tokenizer {

// How a split step treats the delimiters it finds (Hugging Face SplitDelimiterBehavior).
enum class SplitBehavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };

using Span = std::pair<size_t, size_t>;  // [begin, end) byte offsets

// Cuts `text` at the delimiter spans (sorted, non-overlapping) as `behavior` says; `invert`
// swaps the roles of delimiters and the text between them. Returns the non-empty parts.
std::vector<Span> split_at(size_t text_size, const std::vector<Span>& delimiters, SplitBehavior behavior, bool invert);

class PreTokenizer {
 public:
  // `spec` is the "pre_tokenizer" value (null = the whole text is one piece).
  static PreTokenizer from_json(const nlohmann::json& spec);

  // Calls on_piece for every final piece, in order. `at_text_start`: the text begins the
  // input (Metaspace's "first" prepend scheme needs it). Pieces are views valid during the call.
  void apply(std::string_view text, bool at_text_start, const std::function<void(std::string_view)>& on_piece) const;
  std::vector<std::string> apply(std::string_view text, bool at_text_start) const;

  // True when a ByteLevel step maps bytes to the GPT-2 alphabet (then BPE sees mapped text).
  bool byte_level() const { return byte_level_; }

 private:
  enum class Kind { kSplit, kByteLevel, kMetaspace, kDigits, kWhitespace, kWhitespaceSplit, kPunctuation };
  struct Step {
    Kind kind;
    std::shared_ptr<const Regex> regex;  // Split (regex), ByteLevel (use_regex), Whitespace
    std::string literal;                 // Split (string pattern)
    SplitBehavior behavior = SplitBehavior::kIsolated;
    bool invert = false;
    bool add_prefix_space = false;       // ByteLevel
    std::string replacement;             // Metaspace
    std::string prepend_scheme;          // Metaspace: always / first / never
    bool split = true;                   // Metaspace
    bool individual_digits = false;      // Digits
  };
  static void add_steps(const nlohmann::json& spec, std::vector<Step>& steps);
  // Applies steps_[index..] to one piece (no intermediate lists: pieces are views).
  void apply_from(size_t index, std::string_view piece, bool first_piece,
                  const std::function<void(std::string_view)>& on_piece) const;

  std::vector<Step> steps_;
  bool byte_level_ = false;
};

SplitBehavior parse_split_behavior(const std::string& name);

}  // namespace tf::tokenizer
