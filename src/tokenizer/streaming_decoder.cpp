#include "tokenizer/streaming_decoder.h"

namespace tf::tokenizer {
namespace {

bool ends_with_replacement(const std::string& s) {
  return s.size() >= 3 && s.compare(s.size() - 3, 3, "\xEF\xBF\xBD") == 0;
}

}  // namespace

StreamingDecoder::StreamingDecoder(const Tokenizer& tokenizer, bool skip_special_tokens)
    : tokenizer_(&tokenizer), skip_special_(skip_special_tokens) {}

void StreamingDecoder::reset() {
  window_.clear();
  has_context_ = false;
  context_text_.clear();
}

std::string StreamingDecoder::emit(const std::string& window_text) {
  // Normally the window's text starts with the context's text; if a decoder ever rewrote it,
  // emit from the first difference (text already printed cannot be taken back).
  size_t common = 0;
  while (common < context_text_.size() && common < window_text.size() &&
         context_text_[common] == window_text[common])
    ++common;
  std::string out = window_text.substr(common);
  const TokenId last = window_.back();
  window_.assign(1, last);
  has_context_ = true;
  context_text_ = tokenizer_->decode(window_, skip_special_);
  return out;
}

std::string StreamingDecoder::push(TokenId id) {
  window_.push_back(id);
  const std::string text = tokenizer_->decode(window_, skip_special_);
  if (text == context_text_) {
    // The pending tokens add nothing (skipped special tokens, ids without a token): drop them
    // so they do not count towards kMaxPending.
    window_.resize(has_context_ ? 1 : 0);
    return {};
  }
  const size_t pending = window_.size() - (has_context_ ? 1 : 0);
  if (text.size() <= context_text_.size() && pending <= kMaxPending) return {};
  if (ends_with_replacement(text) && pending <= kMaxPending) return {};
  return emit(text);
}

std::string StreamingDecoder::flush() {
  std::string out;
  if (!window_.empty()) {
    const std::string text = tokenizer_->decode(window_, skip_special_);
    out = emit(text);
  }
  reset();
  return out;
}

}  // namespace tf::tokenizer
