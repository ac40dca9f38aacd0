// What the `tightfit eval` subcommands share: the model flags, loading an Engine for scoring,
// reading the data file, writing the JSON result, the library's refusals as bad input (exit 2),
// and the end of an interrupted run (partial result printed, then exit 130).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "cli/kv_cache_flags.h"
#include "tightfit/eval.h"
#include "tightfit/tightfit.h"

namespace tf::cli {

struct EvalModelFlags {
  std::string model;
  int threads = 0;
  int64_t context = 0;  // 0: the command's default
  std::string label;    // the result's name in `eval compare` (default: the model folder's name)
  std::string json;     // write the result here
};

// --threads, --label and --json (the model flag is each command's own: kld has two).
void add_eval_output_flags(CLI::App* cmd, EvalModelFlags& flags);

// Loads `model` for evaluation: one sequence, no prompt cache, no speculative drafts, sequences
// of `context` tokens (0: the model's), the KV cache `kv` names (default: f16).
std::unique_ptr<tightfit::Engine> load_eval_engine(const std::string& model, int threads, int64_t context,
                                                   const KVCacheFlags& kv = {});

// The whole file; a missing or unreadable file is bad input naming `flag`.
std::string read_data_file(const std::string& path, const std::string& flag);

// Checks before any work that `path` can be written (bad input otherwise).
void check_result_path(const std::string& path, const std::string& flag);
void write_result_file(const std::string& path, const std::string& text);

tightfit::eval::RunInfo run_info(const std::string& eval, const tightfit::Engine& engine, const EvalModelFlags& flags,
                                 const std::string& data_file, const std::string& data_sha256);

// Runs `body`, turning the library's InvalidRequest / ModelNotFound into BadInputError (exit 2).
void with_cli_errors(const std::function<void()>& body);

// After printing a partial result: throws tf::Cancelled (exit 130) with `what_was_done`.
[[noreturn]] void stop_interrupted(const std::string& what_was_done);

}  // namespace tf::cli
