// `tightfit inspect PATH`: what a checkpoint holds (implemented with the storage layer).
#include "cli/commands.h"

namespace tf::cli {

void add_inspect_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("inspect", "Describe a checkpoint: architecture, parameters, bits");
  auto path = std::make_shared<std::string>();
  cmd->add_option("path", *path, "Model folder or .safetensors file")->required();
  cmd->callback([path] { throw std::runtime_error("inspect: not implemented yet"); });
}

}  // namespace tf::cli
