// `tightfit chat` on a terminal (issue 19, item 11): the prompt's line editor
// (cli/line_editor.h) driven through a pseudo-terminal as a person types — arrow keys, Ctrl-A,
// backspace over a multi-byte character, history recall within a session and from the history
// file of an earlier one, Ctrl-D on an empty line, Ctrl-C twice at the prompt. The line the
// editor returns is seen through chat's answer to an unknown /command, which repeats it.
#include <gtest/gtest.h>

#include <poll.h>
#include <pty.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <string>
#include <vector>

#include "cli_test_support.h"

namespace tf {
namespace {

const std::string kModel = std::string(TIGHTFIT_TEST_DATA) + "/../../models/tiny-random";

// Keys as a terminal sends them (xterm, emacs bindings).
const std::string kLeft = "\x1b[D", kUp = "\x1b[A", kBackspace = "\x7f", kHome = "\x01",
                  kEnd = "\x05", kEndOfInput = "\x04", kInterrupt = "\x03";

// `tightfit ARGS` with a pseudo-terminal as its stdin, stdout and stderr (its controlling
// terminal, so Ctrl-C typed there is a SIGINT), TERM=xterm and its chat history under
// `state_home` (XDG_STATE_HOME).
class TerminalSession {
 public:
  TerminalSession(const std::vector<std::string>& args, const std::string& state_home) {
    winsize size{};
    size.ws_row = 24;
    size.ws_col = 200;  // wide: lines are not wrapped on screen
    pid_ = forkpty(&master_, nullptr, nullptr, &size);
    if (pid_ < 0) throw std::runtime_error("forkpty failed");
    if (pid_ == 0) {
      setenv("TERM", "xterm", 1);
      setenv("XDG_STATE_HOME", state_home.c_str(), 1);
      std::vector<std::string> argv = {TIGHTFIT_BINARY};
      argv.insert(argv.end(), args.begin(), args.end());
      std::vector<char*> pointers;
      for (std::string& a : argv) pointers.push_back(a.data());
      pointers.push_back(nullptr);
      execv(TIGHTFIT_BINARY, pointers.data());
      _exit(127);
    }
  }
  ~TerminalSession() {
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (master_ >= 0) close(master_);
  }

  void type(const std::string& keys) {
    for (size_t done = 0; done < keys.size();) {
      const ssize_t n = ::write(master_, keys.data() + done, keys.size() - done);
      if (n <= 0) return;
      done += static_cast<size_t>(n);
    }
  }

  // Reads the terminal until `needle` appears after what earlier waits consumed; false when the
  // program closed the terminal or 60 s passed without it (a deadline for a hung program, not a
  // timing check).
  bool wait_for(const std::string& needle) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    for (;;) {
      const size_t at = screen_.find(needle, seen_);
      if (at != std::string::npos) {
        seen_ = at + needle.size();
        return true;
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0 || !pump(static_cast<int>(left.count()))) return false;
    }
  }

  // Types `keys` at the next prompt, once the line editor has put the terminal in raw mode.
  // libedit prints the prompt first and switches modes just before its first read: keys typed in
  // between meet the kernel's line discipline, which erases one byte of a multi-byte character
  // on backspace and turns Enter into a newline — as a person typing ahead would see.
  bool at_prompt_type(const std::string& keys) {
    if (!wait_for("> ")) return false;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    for (termios mode{}; tcgetattr(master_, &mode) == 0 && (mode.c_lflag & ICANON);) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      usleep(1'000);
    }
    type(keys);
    return true;
  }

  // Reads until the program ends; its exit code (-1 if a signal ended it, -2 if it was still
  // running 60 s after its output stopped: killed, so a hang fails here instead of at CTest's
  // timeout).
  int finish() {
    while (pump(60'000)) {
    }
    int status = 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (waitpid(pid_, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
        exited_ = true;
        return -2;
      }
      usleep(10'000);
    }
    exited_ = true;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  const std::string& screen() const { return screen_; }

 private:
  // Waits up to timeout_ms for output; false once the terminal is closed (EIO on Linux).
  bool pump(int timeout_ms) {
    pollfd p{master_, POLLIN, 0};
    if (poll(&p, 1, timeout_ms) <= 0) return false;
    char buffer[4096];
    const ssize_t n = ::read(master_, buffer, sizeof buffer);
    if (n <= 0) return false;
    screen_.append(buffer, static_cast<size_t>(n));
    return true;
  }

  pid_t pid_ = -1;
  int master_ = -1;
  bool exited_ = false;
  std::string screen_;
  size_t seen_ = 0;
};

std::vector<std::string> chat_args() {
  return {"chat", "--model", kModel, "--threads", "1", "--max-tokens", "2"};
}

// Occurrences of `needle` in `text`.
size_t count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

TEST(ChatLineEditorCli, EditsRecallsAndKeepsHistoryAcrossSessions) {
  const std::string state = test::fresh_dir("chat-state");
  {
    TerminalSession chat(chat_args(), state);
    ASSERT_TRUE(chat.wait_for("tightfit chat")) << chat.screen();  // the banner, on a terminal
    // Left arrow twice, then a character inserted there.
    ASSERT_TRUE(chat.at_prompt_type("/fooo" + kLeft + kLeft + "X\r")) << chat.screen();
    ASSERT_TRUE(chat.wait_for("unknown command /foXoo (")) << chat.screen();
    // Backspace deletes a whole UTF-8 character (the euro sign is three bytes).
    ASSERT_TRUE(chat.at_prompt_type("/bar\xE2\x82\xAC" + kBackspace + "\r")) << chat.screen();
    ASSERT_TRUE(chat.wait_for("unknown command /bar (")) << chat.screen();
    // Up recalls the last line, Up twice the one before.
    ASSERT_TRUE(chat.at_prompt_type(kUp + "\r")) << chat.screen();
    ASSERT_TRUE(chat.wait_for("unknown command /bar (")) << chat.screen();
    ASSERT_TRUE(chat.at_prompt_type(kUp + kUp + "\r")) << chat.screen();
    ASSERT_TRUE(chat.wait_for("unknown command /foXoo (")) << chat.screen();
    // Ctrl-A goes to the start of the line, Ctrl-E back to its end.
    ASSERT_TRUE(chat.at_prompt_type("yz" + kHome + "/" + kEnd + "w\r")) << chat.screen();
    ASSERT_TRUE(chat.wait_for("unknown command /yzw (")) << chat.screen();
    // Ctrl-D on an empty line ends the chat like the end of piped input.
    ASSERT_TRUE(chat.at_prompt_type(kEndOfInput)) << chat.screen();
    EXPECT_EQ(chat.finish(), 0) << chat.screen();
    EXPECT_EQ(count(chat.screen(), "unknown command /bar ("), 2u) << chat.screen();
    EXPECT_EQ(count(chat.screen(), "/bar\xE2\x82\xAC ("), 0u) << chat.screen();
  }
  // The history file holds the lines in the order typed.
  const std::string history = test::read_file(state + "/tightfit/chat_history");
  const size_t foo = history.find("/foXoo"), bar = history.find("/bar"), yzw = history.find("/yzw");
  ASSERT_NE(foo, std::string::npos) << history;
  ASSERT_NE(bar, std::string::npos) << history;
  ASSERT_NE(yzw, std::string::npos) << history;
  EXPECT_LT(foo, bar);
  EXPECT_LT(bar, yzw);

  // A new session starts with that history: Up recalls the previous session's last line.
  TerminalSession again(chat_args(), state);
  ASSERT_TRUE(again.at_prompt_type(kUp + "\r")) << again.screen();
  ASSERT_TRUE(again.wait_for("unknown command /yzw (")) << again.screen();
  ASSERT_TRUE(again.at_prompt_type("/exit\r")) << again.screen();
  EXPECT_EQ(again.finish(), 0) << again.screen();
}

TEST(ChatLineEditorCli, CtrlCAtThePromptAsksOnceThenExits) {
  const std::string state = test::fresh_dir("chat-state-ctrl-c");
  TerminalSession chat(chat_args(), state);
  // A half-typed line is dropped by Ctrl-C, not sent.
  ASSERT_TRUE(chat.at_prompt_type("/half" + kInterrupt)) << chat.screen();
  ASSERT_TRUE(chat.wait_for("(Ctrl-C again or /exit to quit)")) << chat.screen();
  ASSERT_TRUE(chat.at_prompt_type(kInterrupt)) << chat.screen();
  EXPECT_EQ(chat.finish(), 0) << chat.screen();
  EXPECT_EQ(chat.screen().find("unknown command /half"), std::string::npos) << chat.screen();
}

}  // namespace
}  // namespace tf
