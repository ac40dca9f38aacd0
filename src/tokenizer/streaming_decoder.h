// Incremental detokenization for generation: push() one id at a time and get back only text
// that is final, never half a UTF-8 character (a character's bytes may be spread over several
// byte-level tokens). The concatenation of every push() and the final flush() equals
// Tokenizer::decode of all ids.
//
// Method (as Hugging Face's DecodeStream): decode the window "last emitted token + pending
// tokens" and emit what extends the decoding of the last emitted token alone, unless it ends
// in U+FFFD (an unfinished character). Keeping one emitted token as context makes decoders
// that treat the first token specially (Metaspace, Strip) give the same text as a full decode.
#pragma once

#include <string>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace tf::tokenizer {

class StreamingDecoder {
 public:
  // The tokenizer must outlive the decoder.
  explicit StreamingDecoder(const Tokenizer& tokenizer, bool skip_special_tokens = false);

  // Adds one id; returns the text it completes (often the token's text, sometimes empty).
  std::string push(TokenId id);
  // Returns everything still held back (an unfinished character becomes U+FFFD, as decode()
  // would render it) and starts a new stream.
  std::string flush();
  void reset();

 private:
  // No character spans more than 4 tokens (each token has at least one byte), so a longer
  // pending run ends in a genuine U+FFFD and is emitted.
  static constexpr size_t kMaxPending = 8;

  std::string emit(const std::string& window_text);

  const Tokenizer* tokenizer_;
  bool skip_special_;
  std::vector<TokenId> window_;  // [context token (already emitted)] + pending tokens
  bool has_context_ = false;
  std::string context_text_;     // decode of the context token alone
};

}  // namespace tf::tokenizer
