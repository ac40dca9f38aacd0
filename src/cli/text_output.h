// Printing streamed generation output: each piece written and flushed as it arrives. On a
// terminal the reasoning is dimmed (ANSI faint) and set apart from the answer by a blank line;
// elsewhere the text is plain and the reasoning sits between <think> and </think>, as the model
// writes it, so piped output can be parsed.
#pragma once

#include <cstdio>

#include "runtime/reasoning_split.h"

namespace tf::cli {

class PieceWriter {
 public:
  // styled: use the terminal style (see above); usually isatty(fileno(out)).
  PieceWriter(std::FILE* out, bool styled);

  void write(const TextPiece& piece);
  // End of one answer: restores the terminal style (or, piped, closes a reasoning block the
  // answer was cut inside with "</think>") and ends the line if anything was printed. The
  // writer can then be used for the next answer.
  void finish();

 private:
  void put(const char* text, size_t size);

  std::FILE* out_;
  bool styled_;
  bool in_reasoning_ = false;
  bool printed_ = false;
  bool ends_with_newline_ = false;
};

// True when the stream is a terminal.
bool is_terminal(std::FILE* stream);

}  // namespace tf::cli
