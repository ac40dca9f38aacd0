// Runs the tightfit binary as a child process with its own stdin, stdout and stderr pipes, for
// CLI tests that need the two output streams apart, feed standard input or send signals.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

namespace tf::test {

class ChildProcess {
 public:
  explicit ChildProcess(const std::vector<std::string>& args) {
    int in[2], out[2], err[2];
    if (pipe(in) || pipe(out) || pipe(err)) throw std::runtime_error("pipe failed");
    pid_ = fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      dup2(in[0], 0);
      dup2(out[1], 1);
      dup2(err[1], 2);
      for (int fd : {in[0], in[1], out[0], out[1], err[0], err[1]}) close(fd);
      std::vector<char*> argv;
      std::string binary = TIGHTFIT_BINARY;
      argv.push_back(binary.data());
      std::vector<std::string> copy = args;
      for (auto& a : copy) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(binary.c_str(), argv.data());
      _exit(127);
    }
    close(in[0]);
    close(out[1]);
    close(err[1]);
    stdin_ = in[1];
    stdout_ = out[0];
    stderr_ = err[0];
    signal(SIGPIPE, SIG_IGN);  // a child that exits early must not kill the test
  }
  ~ChildProcess() {
    if (pid_ > 0 && !waited_) {
      kill(pid_, SIGKILL);
      wait();
    }
    for (int fd : {stdin_, stdout_, stderr_})
      if (fd >= 0) close(fd);
  }

  void write_stdin(const std::string& text) {
    size_t done = 0;
    while (done < text.size()) {
      const ssize_t n = ::write(stdin_, text.data() + done, text.size() - done);
      if (n <= 0) return;
      done += static_cast<size_t>(n);
    }
  }
  void close_stdin() {
    if (stdin_ >= 0) close(stdin_);
    stdin_ = -1;
  }
  void signal_child(int sig) { kill(pid_, sig); }

  // Reads both streams until `needle` has appeared in stdout (or stderr, when on_stderr) or the
  // timeout passes; true if it appeared.
  bool read_until(const std::string& needle, bool on_stderr, double timeout_seconds) {
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_seconds);
    for (;;) {
      const std::string& text = on_stderr ? err_ : out_;
      if (text.find(needle, on_stderr ? err_seen_ : out_seen_) != std::string::npos) {
        (on_stderr ? err_seen_ : out_seen_) = text.size();
        return true;
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0 || !pump(static_cast<int>(left.count()))) return false;
    }
  }

  // Reads until stdout holds more than `size` bytes or the timeout passes; true if it does.
  bool read_past(size_t size, double timeout_seconds) {
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_seconds);
    while (out_.size() <= size) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0 || !pump(static_cast<int>(left.count()))) return false;
    }
    return true;
  }

  // Closes stdin, reads everything until the child exits, returns its exit code (-1 if killed
  // by a signal).
  int finish() {
    close_stdin();
    while (pump(-1)) {
    }
    return wait();
  }

  const std::string& out() const { return out_; }
  const std::string& err() const { return err_; }

 private:
  // Waits up to timeout_ms for output; false once both streams are closed.
  bool pump(int timeout_ms) {
    pollfd fds[2] = {{stdout_, POLLIN, 0}, {stderr_, POLLIN, 0}};
    int open = 0;
    for (auto& f : fds) open += f.fd >= 0;
    if (open == 0) return false;
    if (poll(fds, 2, timeout_ms) <= 0) return true;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[4096];
      const ssize_t n = read(fds[i].fd, buf, sizeof buf);
      int& fd = i == 0 ? stdout_ : stderr_;
      if (n <= 0) {
        close(fd);
        fd = -1;
      } else {
        (i == 0 ? out_ : err_).append(buf, static_cast<size_t>(n));
      }
    }
    return true;
  }
  int wait() {
    int status = 0;
    waitpid(pid_, &status, 0);
    waited_ = true;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  pid_t pid_ = -1;
  bool waited_ = false;
  int stdin_ = -1, stdout_ = -1, stderr_ = -1;
  std::string out_, err_;
  size_t out_seen_ = 0, err_seen_ = 0;
};

struct CliResult {
  int code = -1;
  std::string out, err;
};

// Runs `tightfit ARGS` to completion with `input` on stdin.
inline CliResult run_cli(const std::vector<std::string>& args, const std::string& input = "") {
  ChildProcess p(args);
  p.write_stdin(input);
  const int code = p.finish();
  return {code, p.out(), p.err()};
}

}  // namespace tf::test
