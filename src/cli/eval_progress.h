// The progress display of `tightfit eval`: on a terminal one line redrawn in place (a bar, done
// of total, rate and time left); elsewhere (a log file, CI) a plain line at every tenth of the
// work, so logs stay short and readable. Written to stderr; results go to stdout.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace tf::cli {

class EvalProgress {
 public:
  // `what`: the phase ("scoring", "reference"); `unit`: what is counted ("tokens", "items").
  EvalProgress(std::string what, std::string unit, std::FILE* out = stderr);
  ~EvalProgress();  // ends the terminal line
  EvalProgress(const EvalProgress&) = delete;
  EvalProgress& operator=(const EvalProgress&) = delete;

  void update(int64_t done, int64_t total);

 private:
  std::string what_, unit_;
  std::FILE* out_;
  bool terminal_;
  bool drawn_ = false;
  int last_tenth_ = -1;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace tf::cli
