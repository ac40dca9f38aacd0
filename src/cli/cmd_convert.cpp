// `tightfit convert`: convert a hugging face checkpoint to a mixed-precision mlx-layout checkpoint.
#include "cli/commands.h"

namespace tf::cli {

void add_convert_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("convert", "Convert a Hugging Face checkpoint to a mixed-precision MLX-layout checkpoint");
  cmd->allow_extras();
  cmd->callback([] { throw std::runtime_error("convert: not implemented yet"); });
}

}  // namespace tf::cli
