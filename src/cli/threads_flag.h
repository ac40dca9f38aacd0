// `--threads`, the same in every subcommand: 0 (the default) means one per hardware thread; a
// negative count is a usage error (exit 2); a count beyond the hardware threads is lowered to
// them with a one-line notice on stderr — more threads than cores only add contention, and an
// unbounded count (`--threads 100000`) once exhausted the machine's process ids.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

namespace tf::cli {

// Registers -t / --threads (llama.cpp's spelling; -t means threads in every subcommand) on
// `cmd`, validated as above, storing into `threads`.
CLI::Option* add_threads_flag(CLI::App* cmd, int& threads);

}  // namespace tf::cli
