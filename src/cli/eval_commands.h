// The `tightfit eval` subcommands other than ppl and compare, each in its own file
// (cmd_eval_kld.cpp, cmd_eval_mc.cpp, cmd_eval_lang.cpp), registered by cmd_eval.cpp, and
// compare's --models mode (cmd_eval_models.cpp).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace tf::cli {

void add_eval_kld_command(CLI::App& eval);
void add_eval_mc_command(CLI::App& eval);
void add_eval_lang_command(CLI::App& eval);

// `eval compare --models ...`: runs the evals the flags ask for over each model and returns the
// result documents, in order.
struct EvalModelsOptions {
  std::vector<std::string> models;
  std::string text, reference;   // ppl; kld against the reference
  std::string task, data;        // multiple choice
  std::string prompts, expect = "ko";
  int64_t context = 2048;
  int top_k = 32;
  int threads = 0;
  std::string json_dir;
};

std::vector<std::string> run_eval_models(const EvalModelsOptions& options);

}  // namespace tf::cli
