// `tightfit tokenize`: encode text to token ids (or decode ids to text).
#include "cli/commands.h"

namespace tf::cli {

void add_tokenize_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("tokenize", "Encode text to token ids (or decode ids to text)");
  cmd->allow_extras();
  cmd->callback([] { throw std::runtime_error("tokenize: not implemented yet"); });
}

}  // namespace tf::cli
