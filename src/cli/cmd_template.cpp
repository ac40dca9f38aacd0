// `tightfit template`: render the chat template for a conversation.
#include "cli/commands.h"

namespace tf::cli {

void add_template_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("template", "Render the chat template for a conversation");
  cmd->allow_extras();
  cmd->callback([] { throw std::runtime_error("template: not implemented yet"); });
}

}  // namespace tf::cli
