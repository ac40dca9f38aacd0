// `tightfit chat`: interactive multi-turn chat in the terminal.
#include "cli/commands.h"

namespace tf::cli {

void add_chat_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("chat", "Interactive multi-turn chat in the terminal");
  cmd->allow_extras();
  cmd->callback([] { throw std::runtime_error("chat: not implemented yet"); });
}

}  // namespace tf::cli
