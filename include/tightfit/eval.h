// tightfit's evaluation library, behind `tightfit eval` (docs/eval.md): perplexity over a text
// with a sliding window, KL divergence of a model against a reference (live or from a saved
// top-k logits file), lm-evaluation-harness-style multiple-choice scoring, and a script / garbage
// / loop check of generated answers. Everything runs on an Engine (tightfit.h), so it works on
// any model tightfit loads. Results become JSON documents that `eval compare` tabulates.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "tightfit/tightfit.h"

namespace tightfit::eval {

// Called after each unit of work (a window's tokens, an item, a prompt): done of total.
using Progress = std::function<void(int64_t done, int64_t total)>;

// ---------------------------------------------------------------------------------------------
// Per-token negative log-likelihoods (nats) and the perplexity they give.

struct NllStats {
  int64_t count = 0;
  double sum = 0, sum_squares = 0;

  void add(double nll);
  double mean() const;
  // Standard error of the mean NLL (sample standard deviation / sqrt(count)); 0 below 2 tokens.
  double standard_error() const;
  double perplexity() const;  // exp(mean)
  // Half-width of the 95 % interval of the perplexity by the delta method:
  // d exp(m)/dm = exp(m), so 1.96 · ppl · standard_error.
  double perplexity_margin95() const;
};

// The q-quantile (0..1) of `values` by linear interpolation between order statistics (NumPy's
// default); NaN for no values. Sorts a copy.
double quantile(std::vector<double> values, double q);

// log Σ exp(logits), stable.
double log_sum_exp(std::span<const float> logits);

// ---------------------------------------------------------------------------------------------
// Sliding windows (Hugging Face's "perplexity of fixed-length models" stride recipe; llama-
// perplexity scores the second half of each window the same way): window w covers tokens
// [begin, end) with end - begin <= context, begins `stride` after the previous one, and scores
// only the targets the previous window did not: [max(previous end, begin + 1), end). Every token
// but the first is scored exactly once; each has at least context - stride tokens before it
// inside its window (except in the first window).

struct WindowOptions {
  int64_t context = 2048;
  int64_t stride = 0;  // 0: context / 2
};

struct Window {
  int64_t begin = 0, end = 0;  // tokens fed to the model
  int64_t first_target = 0;    // first token scored (predicted by row first_target - begin - 1)
};

// Throws InvalidRequest for a context below 2 or a stride outside 1..context-1 (windows must
// overlap: with stride = context the first token of every window would go unscored).
std::vector<Window> sliding_windows(int64_t token_count, const WindowOptions& options);

// Runs every window through engine.score and calls on_token(position, logits predicting
// tokens[position]) for each scored position, in order. Returns false when cancelled (the
// calls made so far stand).
using TokenLogits = std::function<void(int64_t position, std::span<const float> logits)>;
bool for_each_scored_token(Engine& engine, std::span<const int32_t> tokens, const WindowOptions& options,
                           const TokenLogits& on_token, const Progress& progress = {},
                           const std::atomic<bool>* cancel = nullptr);

struct PerplexityResult {
  NllStats nll;
  int64_t tokens = 0;       // of the text
  int64_t windows = 0;
  bool complete = true;     // false: cancelled, the numbers cover what was scored
};

PerplexityResult perplexity(Engine& engine, std::span<const int32_t> tokens, const WindowOptions& options,
                            const Progress& progress = {}, const std::atomic<bool>* cancel = nullptr);

// ---------------------------------------------------------------------------------------------
// A reference model's distribution at one position, kept compactly: its k largest logits with
// their token ids (best first), the log-sum-exp of every other logit, and the log-probability of
// the token that actually came next. KL is computed over the k+1 outcomes {each top-k token,
// "any other token"} (docs/eval.md "KL divergence"): exact when the rest has no mass, otherwise
// a lower bound of the full-vocabulary KL (merging outcomes never increases KL).

struct TopLogits {
  std::vector<int32_t> ids;     // k ids, largest logit first
  std::vector<float> logits;    // their logits
  float rest_log_sum_exp = 0;   // log Σ exp(logit) over the other tokens (-inf when none)
  float target_logprob = 0;     // log p(actual next token)

  // From a full row of logits.
  static TopLogits of(std::span<const float> logits, int32_t target, int k);
  // log Σ exp over all tokens.
  double log_normalizer() const;
};

struct TokenDivergence {
  double kl = 0;                // KL(reference ‖ model) over the k+1 outcomes, nats
  bool same_top = false;        // the model's argmax is the reference's top token
  double reference_logprob = 0; // log p_ref(actual next token)
  double model_logprob = 0;     // log p_model(actual next token)
};

TokenDivergence divergence(const TopLogits& reference, std::span<const float> model_logits,
                           int32_t target);

// The statistics llama-perplexity prints in its KL-divergence mode (tools/perplexity).
struct KldResult {
  std::vector<double> kl;            // per scored token
  int64_t same_top = 0;              // "Same top p": the argmaxes agree
  NllStats reference_nll, model_nll;
  double sum_dp = 0, sum_dp2 = 0;    // Δp = p_model(target) - p_ref(target)
  int64_t tokens = 0;
  bool complete = true;

  void add(const TokenDivergence& d);
  double mean_kl() const;
  double kl_standard_error() const;
  double same_top_rate() const;
  double mean_dp() const;
  double rms_dp() const;
};

// Top-k logits of a reference at every scored position of a text, as saved by --save-logits.
struct ReferenceLogits {
  std::vector<int32_t> tokens;  // the whole tokenized text
  WindowOptions windows;        // the windows they were scored with
  int64_t vocab_size = 0;
  int k = 0;
  std::vector<TopLogits> rows;  // one per scored position, in order
};

// Scores `tokens` with the reference engine and keeps the top `k` logits of each position.
ReferenceLogits collect_reference(Engine& engine, std::span<const int32_t> tokens, const WindowOptions& options,
                                  int k, const Progress& progress = {}, const std::atomic<bool>* cancel = nullptr);
// Scores the reference's tokens with `engine` (the same windows) against the stored rows.
KldResult kl_divergence(Engine& engine, const ReferenceLogits& reference, const Progress& progress = {},
                        const std::atomic<bool>* cancel = nullptr);

// The top-k logits file (docs/eval.md "Saved logits"). Throws Error naming the file for an
// unwritable, unreadable, truncated or corrupt file.
void write_reference_logits(const std::string& path, const ReferenceLogits& logits);
ReferenceLogits read_reference_logits(const std::string& path);

// ---------------------------------------------------------------------------------------------
// Multiple choice, scored as lm-evaluation-harness scores its `multiple_choice` tasks: the
// log-likelihood of each choice's continuation given its context; acc takes the argmax, acc_norm
// the argmax of log-likelihood / characters of the choice (docs/eval.md "Multiple choice").

// custom: your own prompts, {"context", "choices", "answer"} (docs/eval.md), for a model trained
// on another format than the harness's (the tiny trained model's "Q: …\nA:").
enum class McTask { arc, hellaswag, winogrande, mmlu, truthfulqa_mc2, custom };
McTask mc_task_named(const std::string& name);  // "arc", ...; throws InvalidRequest
const char* to_string(McTask task);

struct McRequest {
  std::string context;       // the prompt (differs per choice only for winogrande)
  std::string continuation;  // what is scored, leading space included
};

struct McItem {
  std::vector<McRequest> choices;
  std::vector<std::string> choice_texts;  // for acc_norm's length (the harness's doc_to_choice)
  int gold = 0;                           // index of the correct choice
  std::vector<int> labels;                // truthfulqa-mc2: 1 true, 0 false per choice
};

// One line of the harness's JSONL for `task` (fields in docs/eval.md). Throws InvalidRequest
// naming the missing or mistyped field.
McItem parse_mc_item(McTask task, const std::string& json_line);

struct McItemScore {
  std::vector<double> loglikelihoods;
  int prediction = 0, prediction_norm = 0;
  double acc = 0, acc_norm = 0;  // 0 or 1, or the mc2 score in acc for truthfulqa-mc2
};

McItemScore score_mc_item(const McItem& item, const std::vector<double>& loglikelihoods);

// Σ log p(continuation tokens | context) for each choice of `item`. The context is tokenized as
// the harness does (a trailing space moves to the continuation, the pair is encoded together and
// split at the context's length). With share_prefix, the tokens all choices start with run once
// (Engine::score_continuations) and each choice continues from their state; without, each
// choice is one score() call of context + continuation (the context recomputed per choice).
// Both give the same log-likelihoods (tests/eval/mc_test.cpp).
std::vector<double> choice_loglikelihoods(Engine& engine, const McItem& item, bool share_prefix = true);

struct McResult {
  McTask task = McTask::arc;
  int64_t items = 0;
  double acc_sum = 0, acc_norm_sum = 0;
  std::vector<McItemScore> scores;
  bool complete = true;
  double acc() const;
  double acc_norm() const;
  double acc_standard_error() const;  // sample standard deviation of the per-item acc / sqrt(n)
};

McResult evaluate_mc(Engine& engine, McTask task, const std::vector<McItem>& items, const Progress& progress = {},
                     const std::atomic<bool>* cancel = nullptr, bool share_prefix = true);

// ---------------------------------------------------------------------------------------------
// Language checks of generated text.

struct LangVerdict {
  double expected_share = 0;        // letters in the expected script / all letters
  bool foreign = false;             // letters of a script the language does not use
  std::string foreign_scripts;      // "kana, cyrillic"
  bool garbage = false;             // U+FFFD, invalid UTF-8, control characters, symbol runs
  std::string garbage_reason;
  bool loop = false;                // the end is one phrase repeated
  bool ok() const { return !foreign && !garbage && !loop && expected_share >= 0.5; }
};

// `language`: "ko" (Hangul expected; Han characters count as foreign: modern Korean answers
// do not use hanja) or "en" (Latin). Throws InvalidRequest for another code.
LangVerdict classify_text(const std::string& text, const std::string& language);

struct LangAnswer {
  std::string prompt, answer;
  LangVerdict verdict;
  std::string stop;  // the stop reason
};

struct LangOptions {
  std::string language = "ko";
  int max_tokens = 256;
  SamplingParams sampling;  // unset fields: temperature 0.7, top_p 0.8, top_k 20 (model card)
  uint64_t seed = 1;
};

struct LangResult {
  std::vector<LangAnswer> answers;
  int ok = 0, foreign = 0, garbage = 0, loops = 0;
  bool complete = true;
};

LangResult evaluate_lang(Engine& engine, const std::vector<std::string>& prompts, const LangOptions& options,
                         const Progress& progress = {}, const std::atomic<bool>* cancel = nullptr);

// ---------------------------------------------------------------------------------------------
// Results as JSON documents and the comparison table.

std::string sha256_hex(std::string_view bytes);

// What every result document records about the run.
struct RunInfo {
  std::string eval;           // "ppl", "kld", "mc", "lang"
  ModelInfo model;
  std::string label;          // the column's name in compare (default: the model's name)
  std::string data_file;
  std::string data_sha256;
};

std::string result_json(const RunInfo& run, const PerplexityResult& r, const WindowOptions& w);
std::string result_json(const RunInfo& run, const KldResult& r, const WindowOptions& w,
                        const std::string& reference_name);
std::string result_json(const RunInfo& run, const McResult& r);
std::string result_json(const RunInfo& run, const LangResult& r);

// One Markdown table, a row per model label (recipe, bpw, size, ppl, KLD, task scores), from
// the JSON documents' texts. Throws InvalidRequest for a document that is not an eval result.
std::string compare_table(const std::vector<std::string>& documents);

}  // namespace tightfit::eval
