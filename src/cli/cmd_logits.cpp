// `tightfit logits`: write float32 logits [positions, vocab] for a token sequence as .npy.
#include "cli/commands.h"

namespace tf::cli {

void add_logits_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("logits", "Write float32 logits [positions, vocab] for a token sequence as .npy");
  cmd->allow_extras();
  cmd->callback([] { throw std::runtime_error("logits: not implemented yet"); });
}

}  // namespace tf::cli
