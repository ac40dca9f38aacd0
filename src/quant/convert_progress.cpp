#include "quant/convert_progress.h"

#include <algorithm>
#include <utility>

namespace tf {

namespace {

std::string gb(uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", bytes / 1e9);
  return buf;
}

}  // namespace

ConvertProgress::ConvertProgress(std::FILE* out, bool tty, uint64_t total_bytes, std::string label)
    : out_(out), tty_(tty), label_(std::move(label)), total_(std::max<uint64_t>(total_bytes, 1)),
      start_(std::chrono::steady_clock::now()), last_draw_(start_) {}

std::string ConvertProgress::format_duration(double s) {
  const long t = static_cast<long>(s + 0.5);
  char buf[32];
  if (t >= 3600) std::snprintf(buf, sizeof buf, "%ldh%02ldm", t / 3600, (t / 60) % 60);
  else if (t >= 60) std::snprintf(buf, sizeof buf, "%ldm%02lds", t / 60, t % 60);
  else std::snprintf(buf, sizeof buf, "%lds", t);
  return buf;
}

std::string ConvertProgress::line(uint64_t done, const std::string& current) const {
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double frac = std::min(1.0, static_cast<double>(done) / total_);
  const double rate = elapsed > 0 ? done / elapsed : 0;
  std::string eta = rate > 0 && done < total_ ? format_duration((total_ - done) / rate) : "-";
  char head[160];
  std::snprintf(head, sizeof head, "%3d%% %s/%s GB, %.0f MB/s, ETA %s", static_cast<int>(frac * 100),
                gb(done).c_str(), gb(total_).c_str(), rate / 1e6, eta.c_str());
  if (!tty_) return label_ + ": " + std::string(head) + (current.empty() ? "" : "  " + current);
  const int width = 30, filled = static_cast<int>(frac * width);
  std::string bar = "[" + std::string(filled, '#') + std::string(width - filled, '.') + "] ";
  std::string name = current.size() > 60 ? "…" + current.substr(current.size() - 59) : current;
  return bar + head + "  " + name;
}

void ConvertProgress::update(uint64_t done, const std::string& current) {
  done_ = done;
  if (!out_) return;
  const auto now = std::chrono::steady_clock::now();
  if (tty_) {
    if (now - last_draw_ < std::chrono::milliseconds(100)) return;
    last_draw_ = now;
    std::fprintf(out_, "\r\033[K%s", line(done, current).c_str());
    std::fflush(out_);
    return;
  }
  const int decile = static_cast<int>(10.0 * std::min<uint64_t>(done, total_) / total_);
  if (decile <= last_decile_) return;
  last_decile_ = decile;
  std::fprintf(out_, "%s\n", line(done, current).c_str());
  std::fflush(out_);
}

void ConvertProgress::finish() {
  if (!out_) return;
  if (tty_) std::fprintf(out_, "\r\033[K%s\n", line(total_, "done").c_str());
  else if (last_decile_ < 10) std::fprintf(out_, "%s\n", line(total_, "done").c_str());
  std::fflush(out_);
}

}  // namespace tf
