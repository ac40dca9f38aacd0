// Splits streamed model output into reasoning (inside <think>…</think>) and answer, chunk by
// chunk, so the CLI can print (or hide) the thinking and the chat history can store both parts.
//
// Qwen3.5 (spec §7.2, §9 item 12): with thinking on, the generation prompt already ends with
// "<think>\n", so the output *starts* inside the reasoning and only "</think>" appears; with
// thinking off the prompt holds an empty "<think>\n\n</think>\n\n" block and the output is all
// answer. With --raw (no template) the model may open "<think>" itself; that is recognised only
// at the very start of the output, before any answer text, so an answer that merely talks
// about the tag is left alone. The tags are plain text (non-special tokens), so the split works
// on text and tags may be cut across chunks: a tail that could be the start of a tag is held
// back until the next chunk decides.
//
// Whitespace follows the template's own parsing of a finished turn: newlines right after an
// opening tag and right after "</think>" are dropped, and so are newlines right before
// "</think>" (held back while reasoning streams, printed if more reasoning follows).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace tf {

enum class TextChannel { reasoning, answer };

struct TextPiece {
  TextChannel channel;
  std::string text;
};

struct ReasoningSplitConfig {
  bool starts_in_reasoning = false;  // the prompt opened the block (see prompt_opens_reasoning)
  bool show_reasoning = true;        // false (--hide-thinking): reasoning pieces are not returned
  std::string open_tag = "<think>";
  std::string close_tag = "</think>";
};

// True when the rendered prompt leaves a reasoning block open: its last open tag comes after
// its last close tag (Qwen's thinking-on generation prompt).
bool prompt_opens_reasoning(std::string_view prompt, std::string_view open_tag = "<think>",
                            std::string_view close_tag = "</think>");

class ReasoningSplitter {
 public:
  explicit ReasoningSplitter(ReasoningSplitConfig config = {});

  // The next chunk of decoded text; returns what can be shown now, in order, consecutive pieces
  // of the same channel merged. Empty while text is held back.
  std::vector<TextPiece> push(std::string_view text);

  // End of output: releases held-back text (a partial tag that never completed is plain text).
  std::vector<TextPiece> finish();

  bool in_reasoning() const { return in_reasoning_; }
  // Everything split so far (also what was hidden), for the chat history.
  const std::string& reasoning() const { return reasoning_; }
  const std::string& answer() const { return answer_; }

 private:
  void emit(TextChannel channel, std::string_view text, std::vector<TextPiece>& out);
  void switch_channel();
  bool looking_for_open_tag() const;

  ReasoningSplitConfig config_;
  bool in_reasoning_;
  bool opened_once_ = false;      // a reasoning block has been seen (no second one is opened)
  bool at_section_start_ = true;  // drop leading newlines of the current section
  std::string pending_;           // could still be the start of a tag
  std::string held_newlines_;     // trailing newlines of the reasoning so far
  std::string reasoning_;
  std::string answer_;
};

}  // namespace tf
