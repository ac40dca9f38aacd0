#include "cli/text_output.h"

#include <cstring>

#include <unistd.h>

namespace tf::cli {

namespace {
constexpr const char* kFaint = "\x1b[2m";
constexpr const char* kNormal = "\x1b[0m";
}  // namespace

bool is_terminal(std::FILE* stream) { return isatty(fileno(stream)) != 0; }

PieceWriter::PieceWriter(std::FILE* out, bool styled) : out_(out), styled_(styled) {}

void PieceWriter::put(const char* text, size_t size) {
  if (size == 0) return;
  std::fwrite(text, 1, size, out_);
  printed_ = true;
  ends_with_newline_ = text[size - 1] == '\n';
}

void PieceWriter::write(const TextPiece& piece) {
  const bool reasoning = piece.channel == TextChannel::reasoning;
  if (reasoning && !in_reasoning_) {
    if (styled_)
      std::fputs(kFaint, out_);
    else
      put("<think>\n", 8);
  } else if (!reasoning && in_reasoning_) {
    if (styled_) {
      std::fputs(kNormal, out_);
      put("\n\n", 2);
    } else {
      put("\n</think>\n\n", 11);
    }
  }
  in_reasoning_ = reasoning;
  put(piece.text.data(), piece.text.size());
  std::fflush(out_);
}

void PieceWriter::finish() {
  // An answer cut inside the reasoning still closes the block, so piped output stays parseable.
  if (in_reasoning_ && styled_) std::fputs(kNormal, out_);
  if (in_reasoning_ && !styled_) put("\n</think>\n", 10);
  if (printed_ && !ends_with_newline_) put("\n", 1);
  std::fflush(out_);
  in_reasoning_ = printed_ = ends_with_newline_ = false;
}

}  // namespace tf::cli
