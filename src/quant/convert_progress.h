// Progress of a long conversion: a redrawn bar with rate and ETA on a terminal, a plain line per
// 10% otherwise (logs, CI). Progress is counted in input bytes consumed.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace tf {

class ConvertProgress {
 public:
  // out: where to draw (nullptr: silent). tty: redraw one line in place.
  // label starts each plain (non-tty) line.
  ConvertProgress(std::FILE* out, bool tty, uint64_t total_bytes, std::string label = "convert");

  // `done` bytes of the total are finished; `current` names what is being worked on.
  void update(uint64_t done, const std::string& current);
  // Final line (newline on a terminal).
  void finish();

  // "1m05s", "3h02m", "42s".
  static std::string format_duration(double seconds);

 private:
  std::string line(uint64_t done, const std::string& current) const;

  std::FILE* out_;
  bool tty_;
  std::string label_;
  uint64_t total_;
  uint64_t done_ = 0;
  int last_decile_ = -1;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace tf
