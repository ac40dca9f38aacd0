// `tightfit synth`: write a random-weight checkpoint at real shapes in quantized mlx layout.
#include "cli/commands.h"

namespace tf::cli {

void add_synth_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("synth", "Write a random-weight checkpoint at real shapes in quantized MLX layout");
  cmd->allow_extras();
  cmd->callback([] { throw std::runtime_error("synth: not implemented yet"); });
}

}  // namespace tf::cli
