#include "cli/line_editor.h"

#include <histedit.h>
#include <unistd.h>

#include <cerrno>
#include <clocale>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cwchar>

namespace tf::cli {

namespace {

// One byte from stdin: 1 read, 0 end of input, -1 interrupted by Ctrl-C or a read error.
int read_byte(unsigned char& byte) {
  for (;;) {
    const ssize_t n = read_stdin_unless_interrupted(&byte, 1);
    if (n == 1) return 1;
    if (n == 0) return 0;
    if (errno != EINTR || InterruptScope::interrupted()) return -1;
  }
}

// libedit's character reader (EL_GETCFN): one UTF-8 character as a wide character, so that
// non-ASCII text (Korean, accents) edits as whole characters. Returns 1, 0 at end of input, -1
// when a Ctrl-C interrupted the read (el_gets then returns no line).
int read_character(EditLine*, wchar_t* out) {
  unsigned char lead = 0;
  const int got = read_byte(lead);
  if (got <= 0) return got;
  const int extra = lead < 0x80 ? 0 : (lead >> 5) == 0x6 ? 1 : (lead >> 4) == 0xE ? 2
                  : (lead >> 3) == 0x1E ? 3 : -1;
  if (extra < 0) {  // not a lead byte: pass it on rather than lose it
    *out = lead;
    return 1;
  }
  uint32_t code = extra == 0 ? lead : lead & (0x3F >> extra);
  for (int i = 0; i < extra; ++i) {
    unsigned char next = 0;
    const int more = read_byte(next);
    if (more <= 0) return more;
    code = (code << 6) | (next & 0x3F);
  }
  *out = static_cast<wchar_t>(code);
  return 1;
}

// EL_PROMPT wants a function; the prompt is kept as client data.
const char* prompt_of(EditLine* editor) {
  void* data = nullptr;
  el_get(editor, EL_CLIENTDATA, &data);
  return data ? static_cast<const std::string*>(data)->c_str() : "> ";
}

}  // namespace

LineEditor::LineEditor(std::string prompt, std::filesystem::path history_file)
    : prompt_(std::move(prompt)), history_file_(std::move(history_file)) {
  // libedit edits wide characters and hands the line back through the C library's multibyte
  // conversion, which in the "C" locale cannot encode non-ASCII text: take the user's locale,
  // or C.UTF-8 when that is not a UTF-8 one (only LC_CTYPE, and only in the interactive chat).
  std::setlocale(LC_CTYPE, "");
  if (MB_CUR_MAX == 1) std::setlocale(LC_CTYPE, "C.UTF-8");
  editor_ = el_init("tightfit", stdin, stdout, stderr);
  history_ = history_init();
  HistEvent event;
  history(history_, &event, H_SETSIZE, 1000);
  history(history_, &event, H_SETUNIQUE, 1);
  if (!history_file_.empty()) history(history_, &event, H_LOAD, history_file_.c_str());
  el_set(editor_, EL_EDITOR, "emacs");
  el_set(editor_, EL_HIST, history, history_);
  el_set(editor_, EL_CLIENTDATA, static_cast<void*>(&prompt_));
  el_set(editor_, EL_PROMPT, prompt_of);
  el_set(editor_, EL_GETCFN, static_cast<el_rfunc_t>(read_character));
  el_source(editor_, nullptr);  // the user's ~/.editrc, as other editline programs do
}

LineEditor::~LineEditor() {
  if (editor_) el_end(editor_);
  if (history_) history_end(history_);
}

LineReader::Status LineEditor::read(std::string& line) {
  if (InterruptScope::interrupted()) return LineReader::Status::interrupted;
  int count = 0;
  const char* text = el_gets(editor_, &count);
  if (!text || count <= 0) {
    if (InterruptScope::interrupted()) return LineReader::Status::interrupted;
    return LineReader::Status::end_of_input;
  }
  line.assign(text, static_cast<size_t>(count));
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  if (line.find_first_not_of(" \t") != std::string::npos) {
    HistEvent event;
    history(history_, &event, H_ENTER, line.c_str());
    if (!history_file_.empty()) {
      std::error_code ec;
      std::filesystem::create_directories(history_file_.parent_path(), ec);
      history(history_, &event, H_SAVE, history_file_.c_str());
    }
  }
  return LineReader::Status::line;
}

std::filesystem::path LineEditor::default_history_file() {
  if (const char* state = std::getenv("XDG_STATE_HOME"); state && *state)
    return std::filesystem::path(state) / "tightfit" / "chat_history";
  if (const char* home = std::getenv("HOME"); home && *home)
    return std::filesystem::path(home) / ".local" / "state" / "tightfit" / "chat_history";
  return {};
}

}  // namespace tf::cli
