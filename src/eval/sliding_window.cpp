// Perplexity with a sliding window (include/tightfit/eval.h). The recipe is Hugging Face's
// "Perplexity of fixed-length models" (https://huggingface.co/docs/transformers/perplexity):
// windows of at most `context` tokens, `stride` apart, each scoring only the tokens the previous
// window did not score, so every token is scored once and (after the first window) with at
// least context - stride tokens of history. llama-perplexity's default is the same with
// stride = context / 2 (it scores the second half of each chunk).
#include <cmath>
#include <string>

#include "tightfit/eval.h"

namespace tightfit::eval {

std::vector<Window> sliding_windows(int64_t token_count, const WindowOptions& options) {
  const int64_t context = options.context;
  const int64_t stride = options.stride == 0 ? context / 2 : options.stride;
  if (context < 2) throw InvalidRequest("the context must be at least 2 tokens, got " + std::to_string(context), "context");
  // A window must overlap the previous one by a token: its first row predicts nothing new.
  if (stride < 1 || stride >= context)
    throw InvalidRequest("the stride must be in 1.." + std::to_string(context - 1) +
                             " (below the context, so windows overlap), got " + std::to_string(stride),
                         "stride");
  if (token_count < 2)
    throw InvalidRequest("the text has " + std::to_string(token_count) +
                             " token(s); perplexity needs at least 2 (the first token is never scored)",
                         "text");
  std::vector<Window> windows;
  int64_t previous_end = 0;
  for (int64_t begin = 0;; begin += stride) {
    const int64_t end = std::min(begin + context, token_count);
    const int64_t first_target = std::max(previous_end, begin + 1);
    if (first_target < end) windows.push_back({begin, end, first_target});
    previous_end = end;
    if (end == token_count) break;
  }
  return windows;
}

bool for_each_scored_token(Engine& engine, std::span<const int32_t> tokens, const WindowOptions& options,
                           const TokenLogits& on_token, const Progress& progress,
                           const std::atomic<bool>* cancel) {
  const int64_t total = static_cast<int64_t>(tokens.size()) - 1;
  int64_t done = 0;
  if (progress) progress(0, total);
  for (const Window& w : sliding_windows(static_cast<int64_t>(tokens.size()), options)) {
    if (cancel && cancel->load()) return false;
    const auto window = tokens.subspan(w.begin, w.end - w.begin);
    const bool finished = engine.score(
        window, w.first_target - w.begin - 1,
        [&](int64_t row, std::span<const float> logits) {
          // The last row predicts the token after the window: the next window scores it.
          if (w.begin + row + 1 < w.end) on_token(w.begin + row + 1, logits);
        },
        {}, cancel);
    if (!finished) return false;
    done += w.end - w.first_target;
    if (progress) progress(done, total);
  }
  return true;
}

PerplexityResult perplexity(Engine& engine, std::span<const int32_t> tokens, const WindowOptions& options,
                            const Progress& progress, const std::atomic<bool>* cancel) {
  PerplexityResult r;
  r.tokens = static_cast<int64_t>(tokens.size());
  r.windows = static_cast<int64_t>(sliding_windows(r.tokens, options).size());
  r.complete = for_each_scored_token(
      engine, tokens, options,
      [&](int64_t position, std::span<const float> logits) {
        r.nll.add(log_sum_exp(logits) - logits[tokens[position]]);
      },
      progress, cancel);
  return r;
}

}  // namespace tightfit::eval
