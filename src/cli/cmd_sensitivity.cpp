// `tightfit sensitivity`: measure per-module quantization error on calibration text.
#include "cli/commands.h"

namespace tf::cli {

void add_sensitivity_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("sensitivity", "Measure per-module quantization error on calibration text");
  cmd->allow_extras();
  cmd->callback([] { throw std::runtime_error("sensitivity: not implemented yet"); });
}

}  // namespace tf::cli
