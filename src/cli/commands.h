// Every subcommand registers itself on the top-level CLI11 app through one function here.
// Commands only parse flags and call the runtime; they print results and throw on failure.
#pragma once

#include <stdexcept>
#include <string>

#include <CLI/CLI.hpp>

#include "base/input_error.h"

namespace tf::cli {

// Exit codes, the same in every subcommand: 0 done; 1 a runtime failure (unreadable or corrupt
// model, no disk space); 2 a usage error or bad input; 130 when Ctrl-C (SIGTERM for convert and
// synth) cut the work short (tf::Cancelled, quant/cancelled.h), as a shell reports SIGINT.

// Thrown for bad flags, flag values and flag combinations the parser cannot catch (the syntax
// of the command line): printed as one line with "(see --help)", exit code 2.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Thrown when the flags are well formed but what they name cannot be used (an output file in a
// folder that does not exist, a token id outside the vocabulary, an unreadable image): one line,
// exit code 2, without "(see --help)" — the help would not say more. The library layers throw
// its base, tf::InputError (base/input_error.h), for the same kind of refusal.
struct BadInputError : InputError {
  using InputError::InputError;
};

void add_inspect_command(CLI::App& app);
void add_logits_command(CLI::App& app);
void add_tokenize_command(CLI::App& app);
void add_template_command(CLI::App& app);
void add_generate_command(CLI::App& app);
void add_chat_command(CLI::App& app);
void add_convert_command(CLI::App& app);
void add_sensitivity_command(CLI::App& app);
void add_synth_command(CLI::App& app);
void add_bench_command(CLI::App& app);
void add_plan_command(CLI::App& app);
void add_draft_vocab_command(CLI::App& app);
void add_serve_command(CLI::App& app);
void add_eval_command(CLI::App& app);

}  // namespace tf::cli
