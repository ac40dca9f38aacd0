#include "cli/threads_flag.h"

#include <algorithm>
#include <cstdio>
#include <thread>

namespace tf::cli {

CLI::Option* add_threads_flag(CLI::App* cmd, int& threads) {
  const CLI::Validator bounded(
      [](std::string& value) -> std::string {
        long long n = -1;
        size_t used = 0;
        try {
          n = std::stoll(value, &used);
        } catch (const std::exception&) {
          used = 0;
        }
        if (used == 0 || used != value.size() || n < 0)
          return "'" + value + "' is not a thread count (a whole number, 0 = all hardware threads)";
        const long long hardware = std::max(1u, std::thread::hardware_concurrency());
        if (n > hardware) {
          std::fprintf(stderr, "tightfit: --threads %lld is more than the %lld hardware threads; "
                       "using %lld\n", n, hardware, hardware);
          value = std::to_string(hardware);
        }
        return "";
      },
      "INT>=0");
  return cmd->add_option("-t,--threads", threads, "worker threads (0 = one per hardware thread; at most that)")
      ->transform(bounded)
      ->capture_default_str();
}

}  // namespace tf::cli
