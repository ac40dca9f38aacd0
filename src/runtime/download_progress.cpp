#include "runtime/download_progress.h"

#include <algorithm>
#include <cstdio>

#include "runtime/peak_memory.h"

namespace tf {

std::string format_duration(double seconds) {
  if (seconds < 0) return "?";
  const long s = static_cast<long>(seconds + 0.5);
  char buf[32];
  if (s >= 3600) {
    std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
  }
  return buf;
}

std::string format_progress_line(const std::string& name, int64_t done, int64_t total,
                                 double bytes_per_second, int bar_width) {
  std::string line = name;
  if (total > 0) {
    const double fraction = std::clamp(static_cast<double>(done) / static_cast<double>(total), 0.0, 1.0);
    char pct[8];
    std::snprintf(pct, sizeof pct, "%3d%%", static_cast<int>(fraction * 100.0));
    const int filled = static_cast<int>(fraction * bar_width);
    line += "  " + std::string(pct) + " |" + std::string(filled, '#') +
            std::string(bar_width - filled, ' ') + "| " + format_bytes(static_cast<uint64_t>(done)) +
            "/" + format_bytes(static_cast<uint64_t>(total));
  } else {
    line += "  " + format_bytes(static_cast<uint64_t>(std::max<int64_t>(done, 0)));
  }
  if (bytes_per_second > 0) {
    line += "  " + format_bytes(static_cast<uint64_t>(bytes_per_second)) + "/s";
    if (total > 0 && done < total) {
      line += "  ETA " + format_duration(static_cast<double>(total - done) / bytes_per_second);
    }
  }
  return line;
}

DownloadProgress::DownloadProgress(std::ostream* out, bool tty) : out_(out), tty_(tty) {}

void DownloadProgress::start_file(const std::string& name, int64_t size, int64_t already) {
  name_ = name;
  size_ = size;
  on_disk_ = already_ = already;
  started_ = last_draw_ = Clock::now();
  drawn_ = false;
  if (out_ && !tty_) {
    *out_ << "downloading " << name
          << (size >= 0 ? " (" + format_bytes(static_cast<uint64_t>(size)) + ")" : std::string())
          << (already > 0 ? ", resuming at " + format_bytes(static_cast<uint64_t>(already)) : "")
          << "\n"
          << std::flush;
  } else {
    draw(true);
  }
}

void DownloadProgress::update(int64_t on_disk) {
  on_disk_ = on_disk;
  draw(false);
}

void DownloadProgress::draw(bool force) {
  if (!out_) return;
  const auto now = Clock::now();
  const double since_draw = std::chrono::duration<double>(now - last_draw_).count();
  if (!force && since_draw < (tty_ ? 0.1 : 5.0)) return;
  last_draw_ = now;
  const double elapsed = std::chrono::duration<double>(now - started_).count();
  const double speed = elapsed > 0.2 ? static_cast<double>(on_disk_ - already_) / elapsed : 0.0;
  const std::string line = format_progress_line(name_, on_disk_, size_, speed);
  if (tty_) {
    *out_ << "\r\033[K" << line << std::flush;  // erase the line, redraw in place
  } else {
    *out_ << "  " << line << "\n" << std::flush;
  }
  drawn_ = true;
}

void DownloadProgress::finish_file() {
  if (!out_) return;
  const double elapsed = std::chrono::duration<double>(Clock::now() - started_).count();
  const double speed = elapsed > 0.2 ? static_cast<double>(on_disk_ - already_) / elapsed : 0.0;
  if (tty_) {
    *out_ << "\r\033[K" << format_progress_line(name_, on_disk_, size_, speed) << "\n" << std::flush;
  } else {
    *out_ << "  done " << name_ << " (" << format_bytes(static_cast<uint64_t>(on_disk_)) << ")\n"
          << std::flush;
  }
}

void DownloadProgress::note(const std::string& line) {
  if (!out_) return;
  if (tty_ && drawn_) *out_ << "\r\033[K";
  *out_ << line << "\n" << std::flush;
  drawn_ = false;
}

}  // namespace tf
