// Shared plumbing of the CLI tests: running the tightfit binary as a child process (argument
// lists or shell command lines, standard input fed, stdout and stderr captured apart or as one
// stream, signals), scratch paths unique to the running test, and reading files back.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <string>
#include <vector>

#include "storage/npy.h"

namespace tf::test {

// A child process with its own stdin, stdout and stderr pipes, for tests that need the two
// output streams apart, feed standard input or send signals.
class ChildProcess {
 public:
  // Runs `tightfit ARGS`.
  explicit ChildProcess(const std::vector<std::string>& args);
  // Runs the program at `path` with `argv` (argv[0] included).
  ChildProcess(const std::string& path, const std::vector<std::string>& argv);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  void write_stdin(const std::string& text);
  void close_stdin();
  void signal_child(int sig);

  // Reads both streams until `needle` has appeared in stdout (or stderr, when on_stderr) or the
  // timeout passes; true if it appeared.
  bool read_until(const std::string& needle, bool on_stderr, double timeout_seconds);
  // Reads until stdout holds more than `size` bytes or the timeout passes; true if it does.
  bool read_past(size_t size, double timeout_seconds);
  // Closes stdin, reads everything until the child exits, returns its exit code (-1 if killed
  // by a signal).
  int finish();

  const std::string& out() const { return out_; }
  const std::string& err() const { return err_; }

 private:
  // Waits up to timeout_ms for output; false once both streams are closed.
  bool pump(int timeout_ms);
  int wait();

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
CliResult run_cli(const std::vector<std::string>& args, const std::string& input = "");

// Runs `tightfit LINE` through /bin/sh (LINE is a shell fragment: quotes work as on a command
// line) to completion with `input` on stdin.
CliResult run_cli_line(const std::string& line, const std::string& input = "");

struct CliOutput {
  int code = -1;
  std::string output;  // stdout and stderr as one stream, in the order written (2>&1)
};

// Runs `tightfit LINE 2>&1` through /bin/sh with nothing on stdin.
CliOutput run_cli_merged(const std::string& line);

// A scratch path unique to the running test and process (ctest -j and other build trees run at
// once), in GoogleTest's temporary folder; nothing is created.
std::string scratch(const std::string& name);

// scratch(name) as an empty folder (emptied if a previous run left it).
std::string fresh_dir(const std::string& name);

// Writes text to the file at `path` (binary, replacing it) and returns the path.
std::string write_file(const std::string& path, const std::string& text);

// The bytes of the file at `path`; empty if it cannot be read.
std::string read_file(const std::string& path);

// A failure of a command: exit code `code`, nothing on stdout, exactly one line on stderr that
// contains `needle`.
void expect_one_line_error(const CliResult& r, int code, const std::string& needle);

// The largest per-row relative L2 distance ‖a_r − b_r‖ / ‖b_r‖ of two [rows, V] logit arrays
// (b the reference), for comparing `tightfit logits` output files.
double worst_relative_l2(const NpyArray& a, const NpyArray& b);

}  // namespace tf::test
