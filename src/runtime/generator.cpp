#include "runtime/generator.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <stdexcept>

#include "runtime/peak_memory.h"
#include "tokenizer/streaming_decoder.h"

namespace tf {

namespace {

// Prompt tokens per prefill call: the cancel flag is checked between calls, so a long prompt
// can be interrupted (the session batches internally as well).
constexpr int64_t kPrefillChunk = 256;

using Clock = std::chrono::steady_clock;

double seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

bool is_set(const std::atomic<bool>* flag) {
  return flag && flag->load(std::memory_order_relaxed);
}

}  // namespace

int default_max_tokens(std::optional<int> requested, std::optional<int> model_default,
                       int64_t context_length, int64_t prompt_tokens) {
  int64_t room = context_length > 0 ? context_length - prompt_tokens : INT32_MAX;
  room = std::max<int64_t>(room, 0);
  int64_t budget;
  if (requested) {
    budget = *requested;
  } else {
    budget = kSafeMaxTokens;
    if (model_default && *model_default > 0) budget = std::min<int64_t>(budget, *model_default);
  }
  return static_cast<int>(std::min(budget, room));
}

Generator::Generator(Session& session, const tokenizer::Tokenizer& tokenizer,
                     GenerationParams params)
    : session_(session),
      tokenizer_(tokenizer),
      params_(std::move(params)),
      // Logit rows may be longer than the tokenizer (padded head, spec §3.8): rows past the
      // last real token are never sampled.
      sampler_(params_.sampler,
               static_cast<int32_t>(std::min<int64_t>(session.model().vocab_size(),
                                                      static_cast<int64_t>(tokenizer.id_space())))) {}

GenerationResult Generator::run(std::span<const int32_t> prompt, bool starts_in_reasoning,
                                const PieceCallback& on_piece, const std::atomic<bool>* cancel) {
  return run_impl(prompt, nullptr, starts_in_reasoning, on_piece, cancel);
}

GenerationResult Generator::run_multimodal(const MultimodalPrompt& prompt,
                                           bool starts_in_reasoning,
                                           const PieceCallback& on_piece,
                                           const std::atomic<bool>* cancel) {
  return run_impl(prompt.ids, &prompt, starts_in_reasoning, on_piece, cancel);
}

GenerationResult Generator::run_impl(std::span<const int32_t> prompt,
                                     const MultimodalPrompt* multimodal, bool starts_in_reasoning,
                                     const PieceCallback& on_piece,
                                     const std::atomic<bool>* cancel) {
  const int64_t total = static_cast<int64_t>(prompt.size());
  const int64_t reused = session_.length();
  if (total == 0) throw std::invalid_argument("the prompt is empty: nothing to generate from");
  if (reused >= total)
    throw std::invalid_argument("the session already holds " + std::to_string(reused) +
                                " tokens, the prompt has " + std::to_string(total) +
                                ": restore a shorter checkpoint or reset first");

  GenerationResult r;
  const int64_t context = session_.model().text().max_position_embeddings;
  r.max_tokens = default_max_tokens(params_.max_tokens, params_.model_max_tokens, context, total);
  if (r.max_tokens <= 0)
    throw std::invalid_argument("the prompt has " + std::to_string(total) +
                                " tokens and fills the model's context of " +
                                std::to_string(context) + " tokens: shorten it");

  StopConditions stops({.eos_token_ids = params_.eos_token_ids,
                        .stop_strings = params_.stop_strings,
                        .max_tokens = r.max_tokens,
                        .loop_guard = params_.loop_guard});
  tokenizer::StreamingDecoder decoder(tokenizer_, params_.skip_special_tokens);
  ReasoningSplitter splitter(
      {.starts_in_reasoning = starts_in_reasoning, .show_reasoning = params_.show_reasoning});
  auto emit_pieces = [&](const std::vector<TextPiece>& pieces) {
    if (!on_piece) return;
    for (const TextPiece& p : pieces) on_piece(p);
  };
  auto emit = [&](std::string_view text) {
    if (!text.empty()) emit_pieces(splitter.push(text));
  };

  // Prefill what the session does not hold yet.
  const Clock::time_point t0 = Clock::now();
  std::span<const float> logits;
  for (int64_t pos = reused; pos < total; pos += kPrefillChunk) {
    if (is_set(cancel)) {
      r.cancelled = true;
      break;
    }
    const int64_t n = std::min(kPrefillChunk, total - pos);
    if (multimodal) {
      const int64_t H = session_.model().hidden_size();
      logits = session_.prefill_embeddings(
          std::span<const float>(multimodal->embeddings).subspan(pos * H, n * H),
          std::span<const Position3>(multimodal->positions).subspan(pos, n));
    } else {
      logits = session_.prefill(prompt.subspan(pos, n));
    }
  }
  // Decode positions continue after the prompt's largest position (spec §4.8).
  if (multimodal && session_.length() == total) session_.set_rope_delta(multimodal->rope_delta);
  const Clock::time_point t1 = Clock::now();
  r.stats.reused_tokens = reused;
  r.stats.prompt_tokens = session_.length() - reused;
  r.stats.prompt_seconds = seconds(t0, t1);

  // Penalties look at the whole context, reused prompt tokens included.
  std::vector<int32_t> history(prompt.begin(), prompt.end());
  history.reserve(history.size() + r.max_tokens);
  // One sampled token through the stop checks and the text pipeline; true when it ends the run.
  auto commit = [&](int32_t token) {
    history.push_back(token);
    r.tokens.push_back(token);
    const std::string text = stops.is_eos(token) ? std::string() : decoder.push(token);
    StopConditions::Step step = stops.push(token, text);
    // The decoder only holds back an unfinished character; at the end it is released (as
    // decode() renders it). After a stop string nothing more is printed.
    if (step.stop != StopReason::none && step.stop != StopReason::stop_string)
      step.text += decoder.flush();
    emit(step.text);
    r.stop = step.stop;
    return step.stop != StopReason::none;
  };
  auto cancelled_now = [&] {
    if (!is_set(cancel)) return false;
    r.cancelled = true;
    emit(stops.flush() + decoder.flush());
    return true;
  };
  if (!r.cancelled && !cancelled_now()) {
    int32_t token = sampler_.sample(logits, history);
    bool stopped = commit(token);
    while (!stopped && !cancelled_now()) {
      logits = session_.decode(token);
      token = sampler_.sample(logits, history);
      stopped = commit(token);
    }
  }
  emit_pieces(splitter.finish());

  r.stats.generated_tokens = static_cast<int64_t>(r.tokens.size());
  r.stats.generation_seconds = seconds(t1, Clock::now());
  r.stats.peak_rss_bytes = peak_rss_bytes();
  r.reasoning = splitter.reasoning();
  r.answer = splitter.answer();
  r.ended_in_reasoning = splitter.in_reasoning();
  r.notice = stops.notice();
  return r;
}

}  // namespace tf
