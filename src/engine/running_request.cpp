#include "engine/running_request.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "runtime/peak_memory.h"

namespace tightfit {

namespace {

double seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

StopReason api_reason(tf::StopReason reason) {
  switch (reason) {
    case tf::StopReason::eos: return StopReason::eos;
    case tf::StopReason::stop_string: return StopReason::stop_string;
    case tf::StopReason::max_tokens: return StopReason::max_tokens;
    case tf::StopReason::repetition_loop: return StopReason::repetition_loop;
    case tf::StopReason::none: break;
  }
  return StopReason::error;
}

}  // namespace

RunningRequest::RunningRequest(const EngineContext& context, std::shared_ptr<RequestState> state,
                               PreparedRequest prepared)
    : ids(prepared.ids),
      context_(context),
      state_(std::move(state)),
      prepared_(std::move(prepared)),
      sampler_(as_api_errors("sampling",
                             [&] { return tf::Sampler(prepared_.sampler, context.sampled_vocab); })),
      constrained_(context, prepared_.constraint, prepared_.starts_in_reasoning),
      stops_(as_api_errors("max_tokens", [&] { return tf::StopConditions(prepared_.stop); })),
      decoder_(context.tokenizer(), /*skip_special_tokens=*/true),
      splitter_({.starts_in_reasoning = prepared_.starts_in_reasoning, .show_reasoning = true}),
      history_(prepared_.ids) {
  usage_.prompt_tokens = prepared_.prompt_tokens;
  usage_.images = static_cast<int64_t>(prepared_.images.size());
  // A budget of 0 closes the thought before its first token.
  if (prepared_.thinking_budget && *prepared_.thinking_budget == 0 &&
      prepared_.starts_in_reasoning) {
    forced_.assign(context_.think_end.begin(), context_.think_end.end());
    budget_spent_ = true;
  }
}

void RunningRequest::started() {
  started_ = Clock::now();
  timing_.queued_seconds = seconds(prepared_.submitted, started_);
}

void RunningRequest::prompt_done() {
  prompt_done_ = Clock::now();
  timing_.prompt_seconds = seconds(started_, prompt_done_) - timing_.vision_seconds;
  usage_.cached_tokens = cached;
}

TokenLogprob RunningRequest::logprob_of(std::span<const float> logits, int32_t token) const {
  // log-softmax of the model's raw logits over the real vocabulary (before any sampling step).
  const std::span<const float> row = logits.first(static_cast<size_t>(context_.sampled_vocab));
  const float max = *std::max_element(row.begin(), row.end());
  double sum = 0;
  for (float v : row) sum += std::exp(static_cast<double>(v - max));
  const float log_z = max + static_cast<float>(std::log(sum));
  TokenLogprob out;
  out.token = token;
  out.logprob = row[static_cast<size_t>(token)] - log_z;
  if (prepared_.logprobs > 0) {
    std::vector<int32_t> order(row.size());
    std::iota(order.begin(), order.end(), 0);
    const size_t n = std::min(order.size(), static_cast<size_t>(prepared_.logprobs));
    std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(n), order.end(),
                      [&](int32_t a, int32_t b) { return row[a] > row[b] || (row[a] == row[b] && a < b); });
    for (size_t i = 0; i < n; ++i) out.top.emplace_back(order[i], row[order[i]] - log_z);
  }
  return out;
}

void RunningRequest::emit(const std::vector<tf::TextPiece>& pieces) {
  for (const tf::TextPiece& piece : pieces) {
    Event event;
    event.kind = piece.channel == tf::TextChannel::reasoning ? EventKind::reasoning
                                                             : EventKind::answer;
    event.text = piece.text;
    // The tokens whose text this is (and any held back before it) go with the first piece.
    event.tokens = std::move(pending_tokens_);
    event.logprobs = std::move(pending_logprobs_);
    pending_tokens_.clear();
    pending_logprobs_.clear();
    state_->push(std::move(event));
  }
}

bool RunningRequest::advance(std::span<const float> logits, bool room_for_next) {
  const int32_t token =
      forced_.empty() ? sampler_.sample(constrained_.mask(logits), history_) : forced_.front();
  return commit(token, logits, room_for_next);
}

void RunningRequest::speculate_on(tf::Sequence& sequence, const tf::ForwardOptions& forward) {
  tf::SpeculativeOptions options;
  options.drafts = prepared_.draft_tokens;
  options.draft_vocabulary = context_.draft_vocabulary;
  speculative_ = std::make_unique<tf::SpeculativeDecoder>(sequence, forward, std::move(options));
  speculative_->set_rules(&step_rules_);
}

void RunningRequest::observe_prefill(const tf::BatchItem& item, std::span<const float> hidden) {
  // A multimodal chunk is fed as embeddings: its ids (image tokens at image rows) are `ids`'.
  const std::span<const int32_t> tokens =
      item.tokens.empty() ? std::span<const int32_t>(ids).subspan(prefilled, item.count())
                          : item.tokens;
  speculative_->observe_prefill(tokens, hidden, item.embeddings, item.positions);
}

int64_t RunningRequest::drafts_before_budget() const {
  if (!prepared_.thinking_budget || budget_spent_) return prepared_.draft_tokens;
  // Still thinking, or the output may still open a thought (nothing but blanks so far): each
  // token may count against the budget, and the one that reaches it must end the step, so
  // that the forced "</think>" is the next step's first token, as in plain decoding.
  const bool may_think = splitter_.in_reasoning() ||
                         (splitter_.reasoning().empty() && splitter_.answer().empty());
  if (!may_think) return prepared_.draft_tokens;
  return *prepared_.thinking_budget - usage_.reasoning_tokens - 1;
}

std::span<const int32_t> RunningRequest::propose() {
  // A step emits up to drafts + 1 tokens: no drafts past the budget.
  const int64_t left = prepared_.stop.max_tokens - usage_.completion_tokens;
  const int64_t most = std::min(left - 1, drafts_before_budget());
  return speculative_->propose(next_token_, sampler_, history_,
                               static_cast<int>(std::clamp<int64_t>(most, 0, prepared_.draft_tokens)));
}

bool RunningRequest::advance_speculative(std::span<const float> logits,
                                         std::span<const float> hidden, int64_t length,
                                         int64_t capacity) {
  const std::vector<int32_t> emitted = speculative_->accept(logits, hidden, sampler_, history_);
  const size_t V = static_cast<size_t>(context_.model().vocab_size());
  const int64_t n = static_cast<int64_t>(emitted.size());
  // Token i was chosen from verify row i; a plain step would then hold length − n + i + 1.
  for (int64_t i = 0; i < n; ++i) {
    const bool room = length - n + i + 1 < capacity;
    if (!commit(emitted[i], logits.subspan(static_cast<size_t>(i) * V, V), room)) {
      if (i + 1 < n) speculative_->keep_emitted(i + 1);  // the sequence ends where it stopped
      return false;
    }
  }
  return true;
}

bool RunningRequest::commit(int32_t token, std::span<const float> logits, bool room_for_next) {
  const Clock::time_point now = Clock::now();
  if (!forced_.empty()) forced_.pop_front();  // the token is the forced one (advance, StepRules)
  if (usage_.completion_tokens == 0) {
    first_token_ = now;
    timing_.time_to_first_token = seconds(prepared_.submitted, now);
  }
  const bool value_complete = constrained_.accept(token);
  history_.push_back(token);
  ++usage_.completion_tokens;
  if (splitter_.in_reasoning()) ++usage_.reasoning_tokens;
  pending_tokens_.push_back(token);
  if (prepared_.logprobs >= 0) pending_logprobs_.push_back(logprob_of(logits, token));

  const std::string text = stops_.is_eos(token) ? std::string() : decoder_.push(token);
  tf::StopConditions::Step step = stops_.push(token, text);
  if (step.stop != tf::StopReason::none && step.stop != tf::StopReason::stop_string)
    step.text += decoder_.flush();
  emit_text(step.text);
  timing_.generation_seconds = seconds(first_token_, now);
  if (step.stop != tf::StopReason::none) {
    finish(api_reason(step.stop));
    return false;
  }
  if (value_complete) {  // the constrained JSON answer is whole: the turn ends as at an EOS
    finish(StopReason::eos);
    return false;
  }
  if (prepared_.thinking_budget && !budget_spent_ && splitter_.in_reasoning() &&
      usage_.reasoning_tokens >= *prepared_.thinking_budget) {
    forced_.assign(context_.think_end.begin(), context_.think_end.end());
    budget_spent_ = true;
  }
  if (!room_for_next) {
    finish(StopReason::context_full);
    return false;
  }
  next_token_ = token;
  return true;
}

void RunningRequest::finish(StopReason reason, const std::string& error) {
  if (finished_) return;
  finished_ = true;
  if (reason != StopReason::stop_string) emit_text(stops_.flush() + decoder_.flush());
  emit(splitter_.finish());
  if (usage_.completion_tokens > 0)
    timing_.generation_seconds = seconds(first_token_, Clock::now());
  timing_.peak_memory_bytes = tf::peak_rss_bytes();
  Event& done = done_;
  done.kind = EventKind::done;
  done.stop = reason;
  if (reason == StopReason::stop_string) done.stop_string = stops_.matched_stop_string();
  done.error = error;
  done.notice = stops_.notice();
  done.max_tokens = prepared_.stop.max_tokens;
  done.tokens = std::move(pending_tokens_);
  done.logprobs = std::move(pending_logprobs_);
  done.usage = usage_;
  if (speculative_) {
    const tf::SpeculativeStats& spec = speculative_->stats();
    SpeculativeUsage& u = done.usage.speculative;
    u.steps = spec.steps;
    u.drafts_proposed = spec.drafts_proposed;
    u.drafts_accepted = spec.drafts_accepted;
    u.proposed_at = spec.proposed_at;
    u.accepted_at = spec.accepted_at;
  }
  done.timing = timing_;
}

}  // namespace tightfit
