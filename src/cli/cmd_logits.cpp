// `tightfit logits`: write float32 logits [positions, vocab] for a token sequence as .npy, for
// comparisons with other engines.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "cli/cli_io.h"
#include "cli/commands.h"
#include "cli/generation_flags.h"
#include "cli/kv_cache_flags.h"
#include "cli/model_flag.h"
#include "cli/threads_flag.h"
#include "storage/npy.h"
#include "tightfit/logits.h"

namespace tf::cli {

namespace {

struct LogitsOptions {
  std::string model_dir;
  std::string tokens;
  std::string out;
  std::string mode = "prefill";
  int threads = 0;
  int64_t batch = 256;
  KVCacheFlags kv_cache;
};

void run_logits(const LogitsOptions& o) {
  const std::vector<int32_t> tokens = parse_token_ids(o.tokens, "--tokens", /*allow_empty=*/false);
  if (o.batch <= 0) throw UsageError("--batch must be positive");
  if (!o.out.empty()) check_output_file(o.out, "--out");
  tightfit::LogitsOptions options;
  options.kv_type = kv_cache_type(o.kv_cache);
  options.kv_group_size = kv_group_size(o.kv_cache);
  options.prefill_chunk = o.batch;
  options.decode_steps = o.mode == "decode";
  options.threads = o.threads;
  options.model = resolve_model_flag(o.model_dir).dir.string();
  tightfit::Logits l;
  try {
    l = tightfit::compute_logits(options, tokens);
  } catch (const tightfit::ModelNotFound& e) {
    throw ModelNotFoundError("--model " + o.model_dir + ": " + e.what());
  } catch (const tightfit::InvalidRequest& e) {
    throw BadInputError(e.param == "tokens" ? std::string("--tokens: ") + e.what()
                                            : "--model " + o.model_dir + ": " + e.what());
  }
  if (!o.out.empty()) write_npy(o.out, {l.rows, l.vocab}, l.values.data());

  std::printf("model: %s (%s layout), %lld layers, vocab %lld, %d threads\n", o.model_dir.c_str(),
              l.layout.c_str(), static_cast<long long>(l.layers), static_cast<long long>(l.vocab),
              l.threads);
  std::printf("logits: [%lld, %lld] float32, %s, load %.1f ms, forward %.1f ms%s%s\n",
              static_cast<long long>(l.rows), static_cast<long long>(l.vocab), o.mode.c_str(),
              l.load_ms, l.forward_ms, o.out.empty() ? "" : ", written to ", o.out.c_str());
  std::printf("argmax per position:");
  for (int64_t t = 0; t < l.rows; ++t) {
    const float* row = l.values.data() + t * l.vocab;
    int64_t best = 0;
    for (int64_t i = 1; i < l.vocab; ++i)
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
  add_kv_cache_flags(cmd, o->kv_cache);
  cmd->callback([o] { run_logits(*o); });
}

}  // namespace tf::cli
