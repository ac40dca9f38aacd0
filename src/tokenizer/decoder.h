// The "decoder" stage of tokenizer.json: turns token strings back into text. Qwen3.5 uses
// ByteLevel (GPT-2 alphabet back to bytes, then lossy UTF-8: each invalid sequence becomes one
// U+FFFD). SentencePiece-style files chain Replace / ByteFallback / Fuse / Strip / Metaspace.
// Like Hugging Face, each step maps a list of token strings to a new list; the result is
// their concatenation.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "tokenizer/regex.h"

namespace tf::tokenizer {

class Decoder {
 public:
  // `spec` is the "decoder" value (null = tokens joined by single spaces, as Hugging Face).
  static Decoder from_json(const nlohmann::json& spec);

  // Token strings (may hold any bytes) to UTF-8 text.
  std::string decode(std::vector<std::string> tokens) const;

 private:
  enum class Kind { kByteLevel, kByteFallback, kFuse, kStrip, kReplace, kMetaspace, kBpeSuffix };
  struct Step {
    Kind kind;
    std::string pattern;                 // Replace (string) / Strip content / Metaspace char / suffix
    std::shared_ptr<const Regex> regex;  // Replace (regex)
    std::string content;                 // Replace
    size_t start = 0, stop = 0;          // Strip
    bool prepend = true;                 // Metaspace: a leading space was added at encode time
  };
  static void add_steps(const nlohmann::json& spec, std::vector<Step>& steps);
  static void apply(const Step& step, std::vector<std::string>& tokens);

  std::vector<Step> steps_;
  bool join_with_spaces_ = false;
};

}  // namespace tf::tokenizer
