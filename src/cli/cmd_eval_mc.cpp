// `tightfit eval mc --model M --task arc|hellaswag|winogrande|mmlu|truthfulqa-mc2|custom --data F.jsonl`:
// multiple-choice accuracy scored as lm-evaluation-harness scores the task (docs/eval.md
// "Multiple choice"; the formats are in src/eval/mc_tasks.cpp). The whole file is checked before
// the model loads: a bad line is reported as FILE:LINE.
#include <cmath>
#include <cstdio>
#include <memory>
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

struct McOptions {
  EvalModelFlags flags;
  std::string task, data;
  int64_t limit = 0;
  bool no_shared_prefix = false;  // score each choice whole (the slower path, for comparison)
  McOptions() { flags.context = 4096; }  // the harness's items are short; a smaller KV cache
};

std::vector<ev::McItem> read_items(ev::McTask task, const std::string& path, const std::string& content, int64_t limit) {
  std::vector<ev::McItem> items;
  std::istringstream lines(content);
  std::string line;
  for (int64_t number = 1; std::getline(lines, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    try {
      items.push_back(ev::parse_mc_item(task, line));
    } catch (const tightfit::InvalidRequest& e) {
      throw BadInputError(path + ":" + std::to_string(number) + ": " + e.what() + " (the " + ev::to_string(task) +
                          " format is in docs/eval.md)");
    }
    if (limit > 0 && static_cast<int64_t>(items.size()) == limit) break;
  }
  if (items.empty()) throw BadInputError("--data: " + path + " holds no items (one JSON object per line)");
  return items;
}

void run_mc(const McOptions& o) {
  check_result_path(o.flags.json, "--json");
  ev::McTask task;
  with_cli_errors([&] { task = ev::mc_task_named(o.task); });
  const std::string content = read_data_file(o.data, "--data");
  const std::vector<ev::McItem> items = read_items(task, o.data, content, o.limit);
  auto engine = load_eval_engine(o.flags.model, o.flags.threads, o.flags.context);
  with_cli_errors([&] {
    InterruptScope interrupts;
    ev::McResult r;
    {
      EvalProgress progress(o.task, "items");
      r = ev::evaluate_mc(*engine, task, items, [&](int64_t d, int64_t t) { progress.update(d, t); },
                          &InterruptScope::flag(), !o.no_shared_prefix);
    }
    std::printf("%s: %lld items, acc %.2f %% ± %.2f", o.task.c_str(), static_cast<long long>(r.items), 100 * r.acc(),
                100 * r.acc_standard_error());
    if (task == ev::McTask::arc || task == ev::McTask::hellaswag) std::printf(", acc_norm %.2f %%", 100 * r.acc_norm());
    if (task == ev::McTask::truthfulqa_mc2) std::printf(" (mc2: mean probability mass of the true answers)");
    std::printf("\n");
    write_result_file(o.flags.json,
                      ev::result_json(run_info("mc", *engine, o.flags, o.data, ev::sha256_hex(content)), r));
    if (!r.complete)
      stop_interrupted("the result above covers " + std::to_string(r.items) + " of " + std::to_string(items.size()) +
                       " items");
  });
}

}  // namespace

void add_eval_mc_command(CLI::App& eval) {
  auto o = std::make_shared<McOptions>();
  auto* cmd = eval.add_subcommand("mc", "Multiple-choice accuracy, scored as lm-evaluation-harness does");
  cmd->add_option("--model,-m", o->flags.model, "Model folder or Hugging Face repo id")->required();
  cmd->add_option("--task", o->task, "arc, hellaswag, winogrande, mmlu, truthfulqa-mc2 or custom (docs/eval.md)")->required();
  cmd->add_option("--data", o->data, "The task's items, one JSON object per line (docs/eval.md)")->required();
  cmd->add_option("--limit", o->limit, "Score only the first N items");
  cmd->add_option("--ctx", o->flags.context, "Tokens a sequence may hold (prompt + answer)");
  cmd->add_flag("--no-shared-prefix", o->no_shared_prefix,
                "Score each choice whole instead of running the choices' shared prefix once (same results, slower)");
  add_eval_output_flags(cmd, o->flags);
  cmd->callback([o] { run_mc(*o); });
}

}  // namespace tf::cli
