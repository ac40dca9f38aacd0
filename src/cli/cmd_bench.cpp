// `tightfit bench`: measure prompt processing and generation speed against the bandwidth roofline.
#include "cli/commands.h"

namespace tf::cli {

void add_bench_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("bench", "Measure prompt processing and generation speed against the bandwidth roofline");
  cmd->allow_extras();
  cmd->callback([] { throw std::runtime_error("bench: not implemented yet"); });
}

}  // namespace tf::cli
