// The `tightfit eval` subcommands other than ppl and compare, each in its own file
// (cmd_eval_kld.cpp, cmd_eval_mc.cpp, cmd_eval_lang.cpp), registered by cmd_eval.cpp.
#pragma once

#include <CLI/CLI.hpp>

namespace tf::cli {

void add_eval_kld_command(CLI::App& eval);
void add_eval_mc_command(CLI::App& eval);
void add_eval_lang_command(CLI::App& eval);

}  // namespace tf::cli
