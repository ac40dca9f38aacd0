// `tightfit logits`: write float32 logits [positions, vocab] for a token sequence as .npy, for
// comparisons with other engines.
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "cli/cli_io.h"
#include "cli/commands.h"
#include "cli/generation_flags.h"
#include "cli/kv_cache_flag.h"
#include "cli/model_flag.h"
#include "cli/threads_flag.h"
#include "model/session.h"
#include "storage/npy.h"

namespace tf::cli {

namespace {

struct LogitsOptions {
  std::string model_dir;
  std::string tokens;
  std::string out;
  std::string mode = "prefill";
  int threads = 0;
  int64_t batch = 256;
  std::string kv_cache = "f16";
};

void run_logits(const LogitsOptions& o) {
  const std::vector<int32_t> tokens = parse_token_ids(o.tokens, "--tokens", /*allow_empty=*/false);
  if (o.batch <= 0) throw UsageError("--batch must be positive");
  if (!o.out.empty()) check_output_file(o.out, "--out");
  const auto t0 = std::chrono::steady_clock::now();
  const ResolvedModel source = resolve_model_flag(o.model_dir);
  auto model = Model::load(source.dir.string(), o.threads);
  const auto t1 = std::chrono::steady_clock::now();
  SessionOptions options;
  options.prefill_batch = o.batch;
  options.kv_type = kv_cache_type(o.kv_cache);
  Session session(*model, options);
  const int64_t V = model->vocab_size(), T = static_cast<int64_t>(tokens.size());
  for (const int32_t id : tokens)
    if (id >= V)
      throw BadInputError("--tokens: token id " + std::to_string(id) +
                          " is outside the vocabulary (0.." + std::to_string(V - 1) + ")");
  std::vector<float> logits;
  logits.reserve(T * V);
  if (o.mode == "prefill") {
    auto l = session.prefill(tokens, true);
    logits.assign(l.begin(), l.end());
  } else {
    for (int32_t id : tokens) {
      auto l = session.decode(id);
      logits.insert(logits.end(), l.begin(), l.end());
    }
  }
  const auto t2 = std::chrono::steady_clock::now();
  if (!o.out.empty()) write_npy(o.out, {T, V}, logits.data());

  auto ms = [](auto a, auto b) { return std::chrono::duration<double, std::milli>(b - a).count(); };
  std::printf("model: %s (%s layout), %d layers, vocab %lld, %d threads\n", o.model_dir.c_str(),
              flavour_name(model->flavour()), model->text().num_hidden_layers,
              static_cast<long long>(V), model->pool().num_threads());
  std::printf("logits: [%lld, %lld] float32, %s, load %.1f ms, forward %.1f ms%s%s\n",
              static_cast<long long>(T), static_cast<long long>(V), o.mode.c_str(), ms(t0, t1),
              ms(t1, t2), o.out.empty() ? "" : ", written to ", o.out.c_str());
  std::printf("argmax per position:");
  for (int64_t t = 0; t < T; ++t) {
    const float* row = logits.data() + t * V;
    int64_t best = 0;
    for (int64_t i = 1; i < V; ++i)
      if (row[i] > row[best]) best = i;
    std::printf(" %lld", static_cast<long long>(best));
  }
  std::printf("\n");
}

}  // namespace

void add_logits_command(CLI::App& app) {
  auto o = std::make_shared<LogitsOptions>();
  auto* cmd = app.add_subcommand(
      "logits", "Write float32 logits [positions, vocab] for a token sequence as .npy");
  cmd->add_option("--model,-m", o->model_dir, kModelFlagHelp)->required();
  cmd->add_option("--tokens", o->tokens, "Comma-separated token ids, e.g. 1,2,3")->required();
  cmd->add_option("--out", o->out, "Write the logits here as .npy [positions, vocab] float32");
  cmd->add_option("--mode", o->mode,
                  "prefill: all tokens in one prefill; decode: one decode step per token")
      ->check(CLI::IsMember({"prefill", "decode"}));
  add_threads_flag(cmd, o->threads);
  cmd->add_option("--batch", o->batch, "Prefill batch size in tokens");
  add_kv_cache_flag(cmd, o->kv_cache);
  cmd->callback([o] { run_logits(*o); });
}

}  // namespace tf::cli
