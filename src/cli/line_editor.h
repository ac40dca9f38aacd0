// The chat prompt on a terminal: line editing (arrows, Ctrl-A/E, Ctrl-R search…) and a history
// kept across sessions, from libedit (BSD editline, Debian's libedit-dev). Only for a terminal:
// piped input keeps LineReader (interrupt.h), which tests and scripts rely on.
//
// Ctrl-C: libedit's own signal handling stays off (EL_SIGNAL unset), so the chat's SIGINT
// handler (InterruptScope) still sees it; characters are read by our own function, which gives
// up the line when a read is interrupted by it, as LineReader does.
#pragma once

#include <filesystem>
#include <string>

#include "cli/interrupt.h"

typedef struct editline EditLine;
typedef struct history History;

namespace tf::cli {

class LineEditor {
 public:
  // `prompt` is shown before each line; the history is read from `history_file` (if it exists)
  // and written back after each line (an empty path keeps it in memory only).
  LineEditor(std::string prompt, std::filesystem::path history_file);
  ~LineEditor();
  LineEditor(const LineEditor&) = delete;
  LineEditor& operator=(const LineEditor&) = delete;

  // The next line without its line ending; added to the history when not blank.
  LineReader::Status read(std::string& line);

  // $XDG_STATE_HOME/tightfit/chat_history, else ~/.local/state/tightfit/chat_history; empty
  // when neither can be derived.
  static std::filesystem::path default_history_file();

 private:
  std::string prompt_;
  std::filesystem::path history_file_;
  EditLine* editor_ = nullptr;
  History* history_ = nullptr;
};

}  // namespace tf::cli
