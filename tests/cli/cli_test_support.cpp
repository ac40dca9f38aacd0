#include "cli_test_support.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>

#include <gtest/gtest.h>

namespace tf::test {

namespace fs = std::filesystem;

namespace {

std::vector<std::string> tightfit_argv(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {TIGHTFIT_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

// /bin/sh running `tightfit LINE`, the binary's path quoted for the shell.
std::vector<std::string> shell_argv(const std::string& line) {
  return {"sh", "-c", "'" + std::string(TIGHTFIT_BINARY) + "' " + line};
}

CliResult run_to_end(ChildProcess& p, const std::string& input) {
  p.write_stdin(input);
  const int code = p.finish();
  return {code, p.out(), p.err()};
}

}  // namespace

ChildProcess::ChildProcess(const std::vector<std::string>& args)
    : ChildProcess(TIGHTFIT_BINARY, tightfit_argv(args)) {}

ChildProcess::ChildProcess(const std::string& path, const std::vector<std::string>& argv) {
  int in[2], out[2], err[2];
  if (pipe(in) || pipe(out) || pipe(err)) throw std::runtime_error("pipe failed");
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    for (int fd : {in[0], in[1], out[0], out[1], err[0], err[1]}) close(fd);
    std::vector<std::string> copy = argv;
    std::vector<char*> pointers;
    for (auto& a : copy) pointers.push_back(a.data());
    pointers.push_back(nullptr);
    execv(path.c_str(), pointers.data());
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

ChildProcess::~ChildProcess() {
  if (pid_ > 0 && !waited_) {
    kill(pid_, SIGKILL);
    wait();
  }
  for (int fd : {stdin_, stdout_, stderr_})
    if (fd >= 0) close(fd);
}

void ChildProcess::write_stdin(const std::string& text) {
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(stdin_, text.data() + done, text.size() - done);
    if (n <= 0) return;
    done += static_cast<size_t>(n);
  }
}

void ChildProcess::close_stdin() {
  if (stdin_ >= 0) close(stdin_);
  stdin_ = -1;
}

void ChildProcess::signal_child(int sig) { kill(pid_, sig); }

bool ChildProcess::read_until(const std::string& needle, bool on_stderr, double timeout_seconds) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_seconds);
  for (;;) {
    const std::string& text = on_stderr ? err_ : out_;
    if (text.find(needle, on_stderr ? err_seen_ : out_seen_) != std::string::npos) {
      (on_stderr ? err_seen_ : out_seen_) = text.size();
      return true;
    }
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || !pump(static_cast<int>(left.count()))) return false;
  }
}

bool ChildProcess::read_past(size_t size, double timeout_seconds) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_seconds);
  while (out_.size() <= size) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || !pump(static_cast<int>(left.count()))) return false;
  }
  return true;
}

int ChildProcess::finish() {
  close_stdin();
  while (pump(-1)) {
  }
  return wait();
}

bool ChildProcess::pump(int timeout_ms) {
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

int ChildProcess::wait() {
  int status = 0;
  waitpid(pid_, &status, 0);
  waited_ = true;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

CliResult run_cli(const std::vector<std::string>& args, const std::string& input) {
  ChildProcess p(args);
  return run_to_end(p, input);
}

CliResult run_cli_line(const std::string& line, const std::string& input) {
  ChildProcess p("/bin/sh", shell_argv(line));
  return run_to_end(p, input);
}

CliOutput run_cli_merged(const std::string& line) {
  ChildProcess p("/bin/sh", shell_argv(line + " 2>&1"));
  const CliResult r = run_to_end(p, "");
  return {r.code, r.out};
}

std::string scratch(const std::string& name) {
  return testing::TempDir() + "/tf-" + testing::UnitTest::GetInstance()->current_test_info()->name() + "-" +
         std::to_string(getpid()) + "-" + name;
}

std::string fresh_dir(const std::string& name) {
  const std::string path = scratch(name);
  fs::remove_all(path);
  fs::create_directories(path);
  return path;
}

std::string write_file(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void expect_one_line_error(const CliResult& r, int code, const std::string& needle) {
  EXPECT_EQ(r.code, code) << r.out << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
  ASSERT_FALSE(r.err.empty());
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "not one line: " << r.err;
  EXPECT_NE(r.err.find(needle), std::string::npos) << "'" << needle << "' not in " << r.err;
}

double worst_relative_l2(const NpyArray& a, const NpyArray& b) {
  const int64_t V = b.shape[1];
  double worst = 0;
  for (int64_t r = 0; r < b.shape[0]; ++r) {
    double num = 0, den = 0;
    for (int64_t i = 0; i < V; ++i) {
      const double d = a.data[r * V + i] - b.data[r * V + i];
      num += d * d;
      den += double(b.data[r * V + i]) * b.data[r * V + i];
    }
    worst = std::max(worst, std::sqrt(num / den));
  }
  return worst;
}

}  // namespace tf::test
