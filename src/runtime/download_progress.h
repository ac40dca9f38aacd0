// Progress of a multi-file download: a redrawn bar with speed and ETA on a terminal, plain
// periodic lines otherwise (logs, CI), so nothing floods a file with carriage returns.
#pragma once

#include <chrono>
#include <cstdint>
#include <ostream>
#include <string>

namespace tf {

// "0:42", "1:02:03"; "?" for a negative (unknown) duration.
std::string format_duration(double seconds);

// One status line: "name  42% |#####      | 1.21 GB/2.87 GB  54.2 MB/s  ETA 0:31".
// total < 0: unknown size (no percentage, bar or ETA). speed <= 0: no speed or ETA.
std::string format_progress_line(const std::string& name, int64_t done, int64_t total,
                                 double bytes_per_second, int bar_width = 24);

class DownloadProgress {
 public:
  using Clock = std::chrono::steady_clock;

  // out: where lines go (stderr in the CLI); tty: redraw one line in place. A null out silences.
  DownloadProgress(std::ostream* out, bool tty);

  // A file begins; `already` bytes are on disk from an earlier attempt (not counted as speed).
  void start_file(const std::string& name, int64_t size, int64_t already);
  // Bytes of the current file now on disk. Rate-limited: draws at most every 0.1 s on a tty,
  // every 5 s otherwise.
  void update(int64_t on_disk);
  void finish_file();
  // A line of text that must not be mixed into the bar (retry notices).
  void note(const std::string& line);

 private:
  void draw(bool force);

  std::ostream* out_;
  bool tty_;
  std::string name_;
  int64_t size_ = -1;
  int64_t on_disk_ = 0;
  int64_t already_ = 0;
  Clock::time_point started_;
  Clock::time_point last_draw_;
  bool drawn_ = false;
};

}  // namespace tf
