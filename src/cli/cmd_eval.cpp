// `tightfit eval`: measure what a model (or a conversion of it) can do, reproducibly
// (docs/eval.md). Subcommands:
//   eval ppl     --model M --text FILE [--ctx 2048] [--stride N]        perplexity
//   eval kld     --model Q --reference R --text FILE [--save-logits F]  KL divergence vs R
//                --model Q --reference-logits F
//   eval mc      --model M --task T --data FILE.jsonl                   multiple choice
//   eval lang    --model M --prompts FILE [--expect ko|en]              script / garbage / loops
//   eval compare RESULT.json...                                         one Markdown table
//   eval compare --models A B C --text F [--reference R] [--task T --data D] [--prompts P]
// Each shows progress on stderr, prints its result on stdout, writes it as JSON with --json, and
// on Ctrl-C prints what it has so far and exits 130.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/eval_commands.h"
#include "cli/eval_common.h"
#include "cli/eval_progress.h"
#include "cli/interrupt.h"

namespace tf::cli {

namespace {

namespace ev = tightfit::eval;

struct PplOptions {
  EvalModelFlags flags;
  std::string text;
  int64_t context = 2048;
  int64_t stride = 0;
};

void print_perplexity(const std::string& label, const ev::NllStats& n) {
  std::printf("%s: ppl %.4f ± %.4f (95 %% interval %.4f – %.4f), mean NLL %.5f ± %.5f nats over %lld tokens\n",
              label.c_str(), n.perplexity(), n.perplexity_margin95(), n.perplexity() - n.perplexity_margin95(),
              n.perplexity() + n.perplexity_margin95(), n.mean(), n.standard_error(),
              static_cast<long long>(n.count));
}

void run_ppl(const PplOptions& o) {
  check_result_path(o.flags.json, "--json");
  const std::string text = read_data_file(o.text, "--text");
  const ev::WindowOptions windows{o.context, o.stride};
  auto engine = load_eval_engine(o.flags.model, o.flags.threads, o.context);
  with_cli_errors([&] {
    const std::vector<int32_t> tokens = engine->encode(text);
    const auto plan = ev::sliding_windows(static_cast<int64_t>(tokens.size()), windows);
    const tightfit::ModelInfo& info = engine->info();
    std::printf("model: %s (%.3f bits per weight, %.1f MB)\n", info.name.c_str(), info.bits_per_weight,
                info.weight_bytes / 1e6);
    std::printf("text: %s, %zu tokens, %zu windows of up to %lld tokens, stride %lld\n", o.text.c_str(),
                tokens.size(), plan.size(), static_cast<long long>(o.context),
                static_cast<long long>(o.stride ? o.stride : o.context / 2));
    std::fflush(stdout);
    InterruptScope interrupts;
    ev::PerplexityResult r;
    {
      EvalProgress progress("scoring", "tokens");
      r = ev::perplexity(*engine, tokens, windows, [&](int64_t d, int64_t t) { progress.update(d, t); },
                         &InterruptScope::flag());
    }
    print_perplexity("perplexity", r.nll);
    write_result_file(o.flags.json,
                      ev::result_json(run_info("ppl", *engine, o.flags, o.text, ev::sha256_hex(text)), r, windows));
    if (!r.complete)
      stop_interrupted("the result above covers " + std::to_string(r.nll.count) + " of " +
                       std::to_string(tokens.size() - 1) + " tokens");
  });
}

void run_compare(const std::vector<std::string>& files, const EvalModelsOptions& models, const std::string& out) {
  check_result_path(out, "--out");
  if (files.empty() == models.models.empty())
    throw UsageError("give result files, or --models to run the evals over several models");
  std::vector<std::string> documents;
  for (const std::string& f : files) documents.push_back(read_data_file(f, "compare"));
  if (!models.models.empty()) documents = run_eval_models(models);
  std::string table;
  with_cli_errors([&] {
    try {
      table = ev::compare_table(documents);
    } catch (const tightfit::InvalidRequest&) {
      throw;
    } catch (const std::exception& e) {  // not JSON
      throw tightfit::InvalidRequest(e.what());
    }
  });
  std::fputs(table.c_str(), stdout);
  write_result_file(out, table);
}

}  // namespace

void add_eval_command(CLI::App& app) {
  auto* eval = app.add_subcommand("eval", "Evaluate a model: perplexity, KL divergence, multiple choice, language");
  eval->require_subcommand(1);

  auto ppl = std::make_shared<PplOptions>();
  auto* p = eval->add_subcommand("ppl", "Perplexity over a text file with a sliding window");
  p->add_option("--model,-m", ppl->flags.model, "Model folder or Hugging Face repo id")->required();
  p->add_option("--text", ppl->text, "UTF-8 text file")->required();
  p->add_option("--ctx", ppl->context, "Tokens per window")->check(CLI::Range(int64_t{2}, int64_t{1} << 20));
  p->add_option("--stride", ppl->stride, "Tokens between window starts (default: ctx / 2)");
  add_eval_output_flags(p, ppl->flags);
  p->callback([ppl] { run_ppl(*ppl); });

  add_eval_kld_command(*eval);
  add_eval_mc_command(*eval);
  add_eval_lang_command(*eval);

  auto files = std::make_shared<std::vector<std::string>>();
  auto out = std::make_shared<std::string>();
  auto m = std::make_shared<EvalModelsOptions>();
  auto* c = eval->add_subcommand("compare", "One Markdown table from eval results, or from running the evals over --models");
  c->add_option("results", *files, "Result files written with --json");
  c->add_option("--out", *out, "Also write the table to this file");
  c->add_option("--models", m->models, "Run the evals over these models (e.g. conversions of one model)");
  c->add_option("--text", m->text, "--models: perplexity over this text");
  c->add_option("--reference,-r", m->reference, "--models: KL divergence against this model over --text");
  c->add_option("--task", m->task, "--models: a multiple-choice task (with --data)");
  c->add_option("--data", m->data, "--models: the task's JSONL items");
  c->add_option("--prompts", m->prompts, "--models: language check with these prompts");
  c->add_option("--expect", m->expect, "--models: the prompts' language (ko or en)")->check(CLI::IsMember({"ko", "en"}));
  c->add_option("--ctx", m->context, "--models: tokens per window")->check(CLI::Range(int64_t{2}, int64_t{1} << 20));
  c->add_option("--top-k", m->top_k, "--models: reference logits kept per position")->check(CLI::Range(1, 1 << 20));
  c->add_option("--threads,-t", m->threads, "--models: worker threads (0 = every core)");
  c->add_option("--json-dir", m->json_dir, "--models: also write each result document into this folder");
  c->callback([files, m, out] { run_compare(*files, *m, *out); });
}

}  // namespace tf::cli
