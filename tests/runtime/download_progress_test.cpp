#include "runtime/download_progress.h"

#include <sstream>

#include <gtest/gtest.h>

namespace tf {
namespace {

TEST(DownloadProgress, LineFormatting) {
  EXPECT_EQ(format_duration(0), "0:00");
  EXPECT_EQ(format_duration(62), "1:02");
  EXPECT_EQ(format_duration(3723), "1:02:03");
  EXPECT_EQ(format_duration(-1), "?");
  EXPECT_EQ(format_progress_line("model.safetensors", 500'000'000, 1'000'000'000, 50'000'000, 10),
            "model.safetensors   50% |#####     | 500 MB/1.00 GB  50.0 MB/s  ETA 0:10");
  EXPECT_EQ(format_progress_line("x", 1500, -1, 0), "x  1.50 kB");
  EXPECT_EQ(format_progress_line("x", 10, 10, 5, 4), "x  100% |####| 10 B/10 B  5 B/s");
}

TEST(DownloadProgress, TerminalRedrawsInPlaceAndLogsGetLines) {
  std::ostringstream tty_out, log_out;
  DownloadProgress tty(&tty_out, true), log(&log_out, false);
  for (auto* p : {&tty, &log}) {
    p->start_file("a.safetensors", 1000, 200);
    p->update(600);
    p->note("connection reset, retrying (2/5)");
    p->update(1000);
    p->finish_file();
  }
  EXPECT_NE(tty_out.str().find("\r\033[K"), std::string::npos);
  EXPECT_NE(tty_out.str().find("100%"), std::string::npos);
  EXPECT_EQ(log_out.str().find('\r'), std::string::npos);
  EXPECT_NE(log_out.str().find("downloading a.safetensors (1.00 kB), resuming at 200 B\n"),
            std::string::npos)
      << log_out.str();
  EXPECT_NE(log_out.str().find("connection reset, retrying (2/5)\n"), std::string::npos);
  EXPECT_NE(log_out.str().find("done a.safetensors"), std::string::npos);
  DownloadProgress silent(nullptr, true);
  silent.start_file("x", 1, 0);  // no stream: nothing to crash on
  silent.finish_file();
}

}  // namespace
}  // namespace tf
