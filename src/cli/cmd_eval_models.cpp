// `tightfit eval compare --models A B C ...`: the evals over several conversions of one model in
// one go, then compare's table. Each model loads in turn (one in memory at a time); with
// --reference the reference is scored once, its top-k logits kept in memory, and every model's
// KL divergence taken against them. --json-dir keeps every result document.
#include <cstdio>
#include <filesystem>
#include <sstream>
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

std::string token_bytes(const std::vector<int32_t>& tokens) {
  return std::string(reinterpret_cast<const char*>(tokens.data()), tokens.size() * sizeof(int32_t));
}

void check_not_interrupted(const std::string& phase) {
  if (InterruptScope::interrupted()) stop_interrupted(phase + " was cut short; no table was made");
}

}  // namespace

std::vector<std::string> run_eval_models(const EvalModelsOptions& o) {
  if (o.text.empty() && o.task.empty() && o.prompts.empty())
    throw UsageError("--models needs something to run: --text (ppl, and kld with --reference), --task + --data, "
                     "or --prompts");
  if (o.task.empty() != o.data.empty()) throw UsageError("--task and --data go together");
  if (!o.reference.empty() && o.text.empty()) throw UsageError("--reference needs --text");
  if (!o.json_dir.empty() && !std::filesystem::is_directory(o.json_dir))
    throw BadInputError("--json-dir: " + o.json_dir + " is not a folder");
  const ev::WindowOptions windows{o.context, 0};
  const std::string text = o.text.empty() ? "" : read_data_file(o.text, "--text");
  const std::string data = o.data.empty() ? "" : read_data_file(o.data, "--data");
  const std::string prompts_text = o.prompts.empty() ? "" : read_data_file(o.prompts, "--prompts");
  std::vector<ev::McItem> items;
  ev::McTask task = ev::McTask::arc;
  with_cli_errors([&] {
    if (!o.task.empty()) {
      task = ev::mc_task_named(o.task);
      std::istringstream lines(data);
      for (std::string line; std::getline(lines, line);)
        if (line.find_first_not_of(" \t\r") != std::string::npos) items.push_back(ev::parse_mc_item(task, line));
    }
  });
  std::vector<std::string> prompts;
  {
    std::istringstream lines(prompts_text);
    for (std::string line; std::getline(lines, line);)
      if (line.find_first_not_of(" \t\r") != std::string::npos && line[0] != '#') prompts.push_back(line);
  }

  InterruptScope interrupts;
  std::vector<std::string> documents;
  auto keep = [&](const std::string& label, const std::string& eval, std::string document) {
    if (!o.json_dir.empty())
      write_result_file((std::filesystem::path(o.json_dir) / (std::filesystem::path(label).filename().string() + "-" +
                                                              std::to_string(documents.size()) + "-" + eval + ".json"))
                            .string(),
                        document);
    documents.push_back(std::move(document));
  };
  ev::ReferenceLogits reference;
  if (!o.reference.empty()) {
    auto engine = load_eval_engine(o.reference, o.threads, o.context);
    with_cli_errors([&] {
      EvalProgress progress("reference " + engine->info().name, "tokens");
      reference = ev::collect_reference(*engine, engine->encode(text), windows, o.top_k,
                                        [&](int64_t d, int64_t t) { progress.update(d, t); }, &InterruptScope::flag());
    });
    check_not_interrupted("the reference");
  }
  for (const std::string& model : o.models) {
    auto engine = load_eval_engine(model, o.threads, o.context);
    // The label is the model's name, or the path given when two models share a folder name.
    EvalModelFlags flags;
    int same_name = 0;
    for (const std::string& other : o.models)
      same_name += std::filesystem::path(other).filename() == std::filesystem::path(model).filename();
    flags.label = same_name > 1 ? model : engine->info().name;
    const std::string label = flags.label;
    with_cli_errors([&] {
      if (!text.empty()) {
        const std::vector<int32_t> tokens = engine->encode(text);
        ev::PerplexityResult r;
        {
          EvalProgress progress(label + " ppl", "tokens");
          r = ev::perplexity(*engine, tokens, windows, [&](int64_t d, int64_t t) { progress.update(d, t); },
                             &InterruptScope::flag());
        }
        check_not_interrupted(label + "'s perplexity");
        keep(label, "ppl", ev::result_json(run_info("ppl", *engine, flags, o.text, ev::sha256_hex(text)), r, windows));
      }
      if (!o.reference.empty()) {
        ev::KldResult r;
        {
          EvalProgress progress(label + " kld", "tokens");
          r = ev::kl_divergence(*engine, reference, [&](int64_t d, int64_t t) { progress.update(d, t); },
                                &InterruptScope::flag());
        }
        check_not_interrupted(label + "'s KL divergence");
        keep(label, "kld",
             ev::result_json(run_info("kld", *engine, flags, o.text, ev::sha256_hex(token_bytes(reference.tokens))), r,
                             windows, o.reference));
      }
      if (!items.empty()) {
        ev::McResult r;
        {
          EvalProgress progress(label + " " + o.task, "items");
          r = ev::evaluate_mc(*engine, task, items, [&](int64_t d, int64_t t) { progress.update(d, t); },
                              &InterruptScope::flag());
        }
        check_not_interrupted(label + "'s " + o.task);
        keep(label, o.task, ev::result_json(run_info("mc", *engine, flags, o.data, ev::sha256_hex(data)), r));
      }
      if (!prompts.empty()) {
        ev::LangOptions lang;
        lang.language = o.expect;
        ev::LangResult r;
        {
          EvalProgress progress(label + " lang", "prompts");
          r = ev::evaluate_lang(*engine, prompts, lang, [&](int64_t d, int64_t t) { progress.update(d, t); },
                                &InterruptScope::flag());
        }
        check_not_interrupted(label + "'s language check");
        keep(label, "lang",
             ev::result_json(run_info("lang", *engine, flags, o.prompts, ev::sha256_hex(prompts_text)), r));
      }
    });
  }
  return documents;
}

}  // namespace tf::cli
