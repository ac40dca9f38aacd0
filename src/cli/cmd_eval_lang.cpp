// `tightfit eval lang --model M --prompts FILE [--expect ko|en]`: one answer per prompt (one
// prompt a line; blank lines and lines starting with # skipped), thinking off, sampled as the
// model card recommends unless flags say otherwise, each answer classified (docs/eval.md
// "Language check"). Prints "OK 20/20, foreign 0/20, garbage 0/20, loops 0/20" and every
// answer that failed, with why.
#include <cstdio>
#include <memory>
#include <optional>
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

struct LangFlags {
  EvalModelFlags flags;
  std::string prompts;
  ev::LangOptions options;
  std::optional<float> temperature, top_p;
  std::optional<int> top_k;
  LangFlags() { flags.context = 4096; }  // a prompt and a 256-token answer; a smaller KV cache
};

std::vector<std::string> read_prompts(const std::string& content, const std::string& path) {
  std::vector<std::string> prompts;
  std::istringstream lines(content);
  std::string line;
  while (std::getline(lines, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos || line[0] == '#') continue;
    prompts.push_back(line);
  }
  if (prompts.empty()) throw BadInputError("--prompts: " + path + " holds no prompts (one a line)");
  return prompts;
}

std::string reasons(const ev::LangVerdict& v) {
  std::string s;
  auto add = [&](const std::string& r) { s += (s.empty() ? "" : "; ") + r; };
  if (v.foreign) add("foreign script: " + v.foreign_scripts);
  if (v.garbage) add("garbage: " + v.garbage_reason);
  if (v.loop) add("repetition loop");
  if (v.expected_share < 0.5) add("only " + std::to_string(static_cast<int>(100 * v.expected_share)) +
                                  " % of the letters in the expected script");
  return s;
}

// The answer as printed: control characters (but newlines and tabs) as \xNN, so a garbage
// answer cannot move the cursor or change the terminal's state.
std::string printable(const std::string& text) {
  std::string out;
  char buffer[8];
  for (const char ch : text) {
    const unsigned char c = static_cast<unsigned char>(ch);
    if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7F) {
      std::snprintf(buffer, sizeof buffer, "\\x%02X", c);
      out += buffer;
    } else {
      out += ch;
    }
  }
  return out;
}

void run_lang(LangFlags& o) {
  check_result_path(o.flags.json, "--json");
  with_cli_errors([&] { ev::classify_text("", o.options.language); });
  const std::string content = read_data_file(o.prompts, "--prompts");
  const std::vector<std::string> prompts = read_prompts(content, o.prompts);
  o.options.sampling.temperature = o.temperature;
  o.options.sampling.top_p = o.top_p;
  o.options.sampling.top_k = o.top_k;
  auto engine = load_eval_engine(o.flags.model, o.flags.threads, o.flags.context);
  with_cli_errors([&] {
    InterruptScope interrupts;
    ev::LangResult r;
    {
      EvalProgress progress("answering", "prompts");
      r = ev::evaluate_lang(*engine, prompts, o.options, [&](int64_t d, int64_t t) { progress.update(d, t); },
                            &InterruptScope::flag());
    }
    const size_t n = r.answers.size();
    std::printf("OK %d/%zu, foreign %d/%zu, garbage %d/%zu, loops %d/%zu\n", r.ok, n, r.foreign, n, r.garbage, n,
                r.loops, n);
    for (size_t i = 0; i < n; ++i) {
      const ev::LangAnswer& a = r.answers[i];
      if (a.verdict.ok()) continue;
      std::printf("\n#%zu %s\n  prompt: %s\n  answer (%s): %s\n", i + 1, reasons(a.verdict).c_str(), a.prompt.c_str(),
                  a.stop.c_str(), printable(a.answer).c_str());
    }
    write_result_file(o.flags.json,
                      ev::result_json(run_info("lang", *engine, o.flags, o.prompts, ev::sha256_hex(content)), r));
    if (!r.complete)
      stop_interrupted("the result above covers " + std::to_string(n) + " of " + std::to_string(prompts.size()) +
                       " prompts");
  });
}

}  // namespace

void add_eval_lang_command(CLI::App& eval) {
  auto o = std::make_shared<LangFlags>();
  auto* cmd = eval.add_subcommand("lang", "Answer prompts and check each answer's script, garbage and loops");
  cmd->add_option("--model,-m", o->flags.model, "Model folder or Hugging Face repo id")->required();
  cmd->add_option("--prompts", o->prompts, "Prompts, one a line (# comments)")->required();
  cmd->add_option("--expect", o->options.language, "The answers' language: ko or en")
      ->check(CLI::IsMember({"ko", "en"}));
  cmd->add_option("--max-tokens", o->options.max_tokens, "Tokens per answer at most")
      ->check(CLI::Range(1, 1 << 20));
  cmd->add_option("--temp", o->temperature, "Sampling temperature (default 0.7, the model card's)");
  cmd->add_option("--top-p", o->top_p, "Nucleus sampling (default 0.8)");
  cmd->add_option("--top-k", o->top_k, "Top-k sampling (default 20)");
  cmd->add_option("--seed", o->options.seed, "Seed of the first prompt (the next ones add 1 each)");
  cmd->add_option("--ctx", o->flags.context, "Tokens a sequence may hold (prompt + answer)");
  add_eval_output_flags(cmd, o->flags);
  cmd->callback([o] { run_lang(*o); });
}

}  // namespace tf::cli
