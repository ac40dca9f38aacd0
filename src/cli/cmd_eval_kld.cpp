// `tightfit eval kld`: KL divergence of a model against a reference over the same tokens, with
// the statistics llama-perplexity's --kl-divergence mode prints (docs/eval.md "KL divergence").
//   eval kld --model Q --reference R --text FILE [--save-logits F]   reference run live
//   eval kld --reference R --text FILE --save-logits F               reference only, saved
//   eval kld --model Q --reference-logits F                          reference from the file
// --kv-bits / --kv-cache / --kv-group-size set the KV cache of the model under test (the
// reference keeps f16): `eval kld --model M --reference M --text T --kv-bits 4` measures what a
// 4-bit KV cache costs (README "Quantized KV cache").
// The reference runs first and keeps its top-k logits per position (a few hundred bytes each),
// then is unloaded before the model loads, so the two never share memory.
#include <cmath>
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

struct KldOptions {
  EvalModelFlags flags;
  KVCacheFlags kv;  // the model under test's KV cache
  std::string reference, text, save_logits, reference_logits;
  int64_t context = 2048;
  int64_t stride = 0;
  int top_k = 32;
};

void check_flags(const KldOptions& o) {
  if (o.reference.empty() == o.reference_logits.empty())
    throw UsageError("give either --reference (with --text) or --reference-logits");
  if (!o.reference.empty() && o.text.empty()) throw UsageError("--reference needs --text");
  if (!o.reference_logits.empty() && !o.save_logits.empty())
    throw UsageError("--save-logits saves a live reference run: it cannot go with --reference-logits");
  if (o.flags.model.empty() && o.save_logits.empty())
    throw UsageError("give --model (the model to compare), or --save-logits to only save the reference");
  if (o.top_k < 1) throw UsageError("--top-k must be at least 1");
  kv_cache_type(o.kv);  // a bad --kv-bits / --kv-cache pair is found before the reference runs
  kv_group_size(o.kv);
}

std::string token_bytes(const std::vector<int32_t>& tokens) {
  return std::string(reinterpret_cast<const char*>(tokens.data()), tokens.size() * sizeof(int32_t));
}

void print_kld(const ev::KldResult& r, const std::string& reference_name, int k) {
  const double n = static_cast<double>(r.tokens);
  const double p = r.same_top_rate();
  std::printf("KL divergence against %s over %lld tokens (reference top-%d logits + rest):\n", reference_name.c_str(),
              static_cast<long long>(r.tokens), k);
  std::printf("  mean KLD      %10.6f ± %.6f\n", r.mean_kl(), r.kl_standard_error());
  std::printf("  maximum KLD   %10.6f\n", ev::quantile(r.kl, 1.0));
  std::printf("  99.9%%   KLD   %10.6f\n", ev::quantile(r.kl, 0.999));
  std::printf("  99.0%%   KLD   %10.6f\n", ev::quantile(r.kl, 0.99));
  std::printf("  median  KLD   %10.6f\n", ev::quantile(r.kl, 0.5));
  std::printf("  same top p    %9.3f %% ± %.3f %%\n", 100 * p, n > 1 ? 100 * std::sqrt(p * (1 - p) / (n - 1)) : 0.0);
  std::printf("  mean Δp       %9.3f %%, RMS Δp %.3f %%\n", 100 * r.mean_dp(), 100 * r.rms_dp());
  std::printf("  ppl(model)     %.4f ± %.4f\n", r.model_nll.perplexity(), r.model_nll.perplexity_margin95());
  std::printf("  ppl(reference) %.4f ± %.4f\n", r.reference_nll.perplexity(), r.reference_nll.perplexity_margin95());
  std::printf("  ln(ppl(model) / ppl(reference)) %.5f\n", r.model_nll.mean() - r.reference_nll.mean());
}

void run_kld(const KldOptions& o) {
  check_flags(o);
  check_result_path(o.flags.json, "--json");
  check_result_path(o.save_logits, "--save-logits");
  const ev::WindowOptions windows{o.context, o.stride};
  ev::ReferenceLogits reference;
  std::string reference_name, text;
  InterruptScope interrupts;
  if (!o.reference_logits.empty()) {
    with_cli_errors([&] { reference = ev::read_reference_logits(o.reference_logits); });
    reference_name = o.reference_logits;
  } else {
    text = read_data_file(o.text, "--text");
    auto engine = load_eval_engine(o.reference, o.flags.threads, o.context);
    reference_name = engine->info().name;
    with_cli_errors([&] {
      const std::vector<int32_t> tokens = engine->encode(text);
      std::printf("reference: %s, text %s, %zu tokens\n", reference_name.c_str(), o.text.c_str(), tokens.size());
      std::fflush(stdout);
      EvalProgress progress("reference", "tokens");
      reference = ev::collect_reference(*engine, tokens, windows, o.top_k,
                                        [&](int64_t d, int64_t t) { progress.update(d, t); }, &InterruptScope::flag());
    });
    if (InterruptScope::interrupted())
      stop_interrupted("the reference was scored over " + std::to_string(reference.rows.size()) +
                       " tokens; nothing was saved or compared");
    if (!o.save_logits.empty()) {
      with_cli_errors([&] { ev::write_reference_logits(o.save_logits, reference); });
      std::printf("saved the reference's top-%d logits of %zu positions to %s\n", reference.k, reference.rows.size(),
                  o.save_logits.c_str());
    }
  }
  if (o.flags.model.empty()) return;

  auto engine = load_eval_engine(o.flags.model, o.flags.threads, reference.windows.context, o.kv);
  with_cli_errors([&] {
    if (!text.empty() && engine->encode(text) != reference.tokens)
      throw tightfit::InvalidRequest("the model's tokenizer splits the text differently from the reference's: "
                                     "KL divergence needs the same tokens");
    ev::KldResult r;
    {
      EvalProgress progress("scoring", "tokens");
      r = ev::kl_divergence(*engine, reference, [&](int64_t d, int64_t t) { progress.update(d, t); },
                            &InterruptScope::flag());
    }
    print_kld(r, reference_name, reference.k);
    // The data is identified by its tokens: a saved-logits run and a live one over the same
    // text get the same hash.
    const auto run = run_info("kld", *engine, o.flags, o.text.empty() ? o.reference_logits : o.text,
                              ev::sha256_hex(token_bytes(reference.tokens)));
    write_result_file(o.flags.json, ev::result_json(run, r, reference.windows, reference_name));
    if (!r.complete)
      stop_interrupted("the result above covers " + std::to_string(r.tokens) + " of " +
                       std::to_string(reference.rows.size()) + " tokens");
  });
}

}  // namespace

void add_eval_kld_command(CLI::App& eval) {
  auto o = std::make_shared<KldOptions>();
  auto* cmd = eval.add_subcommand("kld", "KL divergence of a model against a reference model over a text");
  cmd->add_option("--model,-m", o->flags.model, "The model to compare (e.g. a quantized conversion)");
  cmd->add_option("--reference,-r", o->reference, "The reference model (e.g. bf16), run over --text");
  cmd->add_option("--text", o->text, "UTF-8 text file (with --reference)");
  cmd->add_option("--reference-logits", o->reference_logits, "The reference's logits saved with --save-logits");
  cmd->add_option("--save-logits", o->save_logits, "Save the reference's top-k logits to this file");
  cmd->add_option("--top-k", o->top_k, "Reference logits kept per position");
  cmd->add_option("--ctx", o->context, "Tokens per window")->check(CLI::Range(int64_t{2}, int64_t{1} << 20));
  cmd->add_option("--stride", o->stride, "Tokens between window starts (default: ctx / 2)");
  add_kv_cache_flags(cmd, o->kv);  // of --model; the reference keeps f16
  add_eval_output_flags(cmd, o->flags);
  cmd->callback([o] { run_kld(*o); });
}

}  // namespace tf::cli
