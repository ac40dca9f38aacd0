#include "cli/eval_progress.h"

#include <unistd.h>

#include <algorithm>

namespace tf::cli {

EvalProgress::EvalProgress(std::string what, std::string unit, std::FILE* out)
    : what_(std::move(what)), unit_(std::move(unit)), out_(out), terminal_(isatty(fileno(out)) != 0),
      start_(std::chrono::steady_clock::now()) {}

EvalProgress::~EvalProgress() {
  if (terminal_ && drawn_) std::fputc('\n', out_);
}

void EvalProgress::update(int64_t done, int64_t total) {
  const auto now = std::chrono::steady_clock::now();
  const double seconds = std::chrono::duration<double>(now - start_).count();
  const double fraction = total > 0 ? std::clamp(double(done) / total, 0.0, 1.0) : 1.0;
  const double rate = seconds > 0 ? done / seconds : 0;
  if (terminal_) {
    // Redraw at most ~10 times a second, and always at the end.
    if (drawn_ && done < total && now - last_draw_ < std::chrono::milliseconds(100)) return;
    last_draw_ = now;
    constexpr int kWidth = 30;
    const int filled = static_cast<int>(fraction * kWidth);
    std::string bar(filled, '#');
    bar.resize(kWidth, '-');
    const double left = rate > 0 ? (total - done) / rate : 0;
    std::fprintf(out_, "\r%s [%s] %3.0f%% %lld/%lld %s, %.1f %s/s, %.0f s left \033[K", what_.c_str(), bar.c_str(),
                 100 * fraction, static_cast<long long>(done), static_cast<long long>(total), unit_.c_str(), rate,
                 unit_.c_str(), left);
    drawn_ = true;
  } else {
    const int tenth = static_cast<int>(fraction * 10);
    if (tenth == last_tenth_) return;
    last_tenth_ = tenth;
    std::fprintf(out_, "%s: %lld/%lld %s (%.0f%%), %.1f s\n", what_.c_str(), static_cast<long long>(done),
                 static_cast<long long>(total), unit_.c_str(), 100 * fraction, seconds);
  }
  std::fflush(out_);
}

}  // namespace tf::cli
