// Every subcommand registers itself on the top-level CLI11 app through one function here.
// Commands only parse flags and call the runtime; they print results and throw on failure.
#pragma once

#include <stdexcept>
#include <string>

#include <CLI/CLI.hpp>

namespace tf::cli {

// Thrown for bad flag combinations the parser cannot catch: printed as one line, exit code 2.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
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

}  // namespace tf::cli
