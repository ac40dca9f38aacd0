// tightfit: one binary, one subcommand per job. Errors print one line and exit non-zero (the
// codes are listed in cli/commands.h), never a stack trace.
#include <cstdio>
#include <exception>
#include <string>

#include "cli/commands.h"
#include "cli/unknown_flags.h"
#include "quant/cancelled.h"

int main(int argc, char** argv) {
  CLI::App app{"tightfit — Qwen3.5 MoE inference and quantization in 16 GB", "tightfit"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "tightfit 0.1.0");

  tf::cli::add_inspect_command(app);
  tf::cli::add_logits_command(app);
  tf::cli::add_tokenize_command(app);
  tf::cli::add_template_command(app);
  tf::cli::add_generate_command(app);
  tf::cli::add_chat_command(app);
  tf::cli::add_convert_command(app);
  tf::cli::add_sensitivity_command(app);
  tf::cli::add_synth_command(app);
  tf::cli::add_bench_command(app);
  tf::cli::add_plan_command(app);
  tf::cli::add_draft_vocab_command(app);
  tf::cli::add_serve_command(app);
  tf::cli::add_eval_command(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // Unknown arguments usually explain whatever failed (a mistyped --modle is also why --model
    // is missing): name them all, with suggestions, instead of CLI11's message.
    std::string message;
    for (const CLI::App* sub : app.get_subcommands()) {
      while (!sub->get_subcommands().empty()) sub = sub->get_subcommands().front();  // `eval ppl`
      message = tf::cli::unknown_arguments_message(*sub, sub->remaining());
    }
    if (message.empty() && app.get_subcommands().empty())
      message = tf::cli::unknown_arguments_message(app, app.remaining());
    std::fprintf(stderr, "tightfit: %s (see --help)\n", message.empty() ? e.what() : message.c_str());
    return 2;
  } catch (const tf::cli::UsageError& e) {
    std::fprintf(stderr, "tightfit: %s (see --help)\n", e.what());
    return 2;
  } catch (const tf::InputError& e) {  // cli::BadInputError and the library's refusals
    std::fprintf(stderr, "tightfit: error: %s\n", e.what());
    return 2;
  } catch (const tf::Cancelled& e) {
    std::fprintf(stderr, "tightfit: %s\n", e.what());
    return 130;  // as a shell reports a command stopped by SIGINT
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tightfit: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
