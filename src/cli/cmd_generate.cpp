// `tightfit generate`: generate text from a prompt.
#include "cli/commands.h"

namespace tf::cli {

void add_generate_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("generate", "Generate text from a prompt");
  cmd->allow_extras();
  cmd->callback([] { throw std::runtime_error("generate: not implemented yet"); });
}

}  // namespace tf::cli
