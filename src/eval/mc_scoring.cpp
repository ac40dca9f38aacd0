// Log-likelihood scoring of multiple-choice items, as lm-evaluation-harness does it for its
// `multiple_choice` tasks (include/tightfit/eval.h):
//   - a request's tokens: lm_eval/models/huggingface.py `_encode_pair` — trailing spaces of the
//     context move to the continuation; context + continuation is encoded as one string and
//     split after the context's own token count; an empty context becomes the end-of-text token;
//     a request longer than the context keeps its last tokens (the harness truncates on the left);
//   - acc / acc_norm: lm_eval/api/task.py `process_results` — argmax of the log-likelihoods, and of
//     log-likelihood / len(choice) where len counts the choice's characters (Python str length,
//     i.e. code points; equal to bytes for ASCII) without the leading delimiter;
//   - truthfulqa-mc2: lm_eval/tasks/truthfulqa/utils.py `process_results_mc2` — the probability
//     mass of the true answers over all answers' mass, exp(ll) each.
#include <algorithm>
#include <cmath>
#include <string>

#include "tightfit/eval.h"

namespace tightfit::eval {

namespace {

int64_t characters(const std::string& utf8) {
  int64_t n = 0;
  for (const unsigned char c : utf8) n += (c & 0xC0) != 0x80;
  return n;
}

int argmax(const std::vector<double>& v) {
  return static_cast<int>(std::max_element(v.begin(), v.end()) - v.begin());
}

}  // namespace

McItemScore score_mc_item(const McItem& item, const std::vector<double>& ll) {
  if (ll.size() != item.choices.size()) throw InvalidRequest("score_mc_item: one log-likelihood per choice");
  McItemScore s;
  s.loglikelihoods = ll;
  std::vector<double> normalized(ll.size());
  for (size_t i = 0; i < ll.size(); ++i)
    normalized[i] = ll[i] / static_cast<double>(std::max<int64_t>(1, characters(item.choice_texts[i])));
  s.prediction = argmax(ll);
  s.prediction_norm = argmax(normalized);
  if (!item.labels.empty()) {  // truthfulqa-mc2
    const double top = *std::max_element(ll.begin(), ll.end());
    double mass_true = 0, mass_all = 0;
    for (size_t i = 0; i < ll.size(); ++i) {
      const double p = std::exp(ll[i] - top);  // the common factor cancels in the ratio
      mass_all += p;
      if (item.labels[i]) mass_true += p;
    }
    s.acc = s.acc_norm = mass_true / mass_all;
    return s;
  }
  s.acc = s.prediction == item.gold;
  s.acc_norm = s.prediction_norm == item.gold;
  return s;
}

namespace {

// One choice as the model reads it: tokens[start..) less the last token; rows from first_target
// - 1 on predict the continuation.
struct ChoiceTokens {
  std::vector<int32_t> tokens;
  int64_t first_target = 0;
  int64_t start = 0;
};

ChoiceTokens choice_tokens(const Engine& engine, const McRequest& request) {
  const ModelInfo& info = engine.info();
  std::string context = request.context, continuation = request.continuation;
  size_t keep = context.size();
  while (keep > 0 && (context[keep - 1] == ' ' || context[keep - 1] == '\t' || context[keep - 1] == '\n'))
    --keep;
  continuation = context.substr(keep) + continuation;
  context.resize(keep);
  const std::vector<int32_t> whole = engine.encode(context + continuation);
  std::vector<int32_t> context_tokens = engine.encode(context);
  if (context_tokens.size() > whole.size()) context_tokens.resize(whole.size());
  const std::vector<int32_t> continuation_tokens(whole.begin() + context_tokens.size(), whole.end());
  if (continuation_tokens.empty())
    throw InvalidRequest("a choice's continuation \"" + request.continuation + "\" has no tokens of its own", "data");
  if (context_tokens.empty()) {
    if (info.eos_token_ids.empty()) throw InvalidRequest("an empty context needs an end-of-text token", "data");
    context_tokens = {info.eos_token_ids.front()};
  }
  ChoiceTokens c;
  c.tokens = context_tokens;
  c.tokens.insert(c.tokens.end(), continuation_tokens.begin(), continuation_tokens.end());
  c.first_target = static_cast<int64_t>(context_tokens.size());
  const int64_t limit = info.context_length + 1;
  if (static_cast<int64_t>(c.tokens.size()) > limit) c.start = static_cast<int64_t>(c.tokens.size()) - limit;
  if (c.first_target <= c.start) throw InvalidRequest("a choice's continuation is longer than the context", "data");
  return c;
}

// log p(tokens[row + 1]) from the logits of `row`.
double target_logprob(const ChoiceTokens& c, int64_t row, std::span<const float> logits) {
  return logits[c.tokens[c.start + row + 1]] - log_sum_exp(logits);
}

// How many tokens every choice starts with, no further than the first row any choice needs (a
// continuation must read the token whose logits predict its first target).
size_t shared_prefix(const std::vector<ChoiceTokens>& choices) {
  size_t shared = choices.front().tokens.size();
  for (const ChoiceTokens& c : choices) {
    shared = std::min(shared, static_cast<size_t>(c.first_target - 1));
    const auto& a = choices.front().tokens;
    size_t same = 0;
    while (same < shared && a[same] == c.tokens[same]) ++same;
    shared = same;
  }
  return shared;
}

}  // namespace

std::vector<double> choice_loglikelihoods(Engine& engine, const McItem& item, bool share_prefix) {
  std::vector<ChoiceTokens> choices;
  for (const McRequest& request : item.choices) choices.push_back(choice_tokens(engine, request));
  std::vector<double> out(choices.size(), 0.0);
  // A choice truncated on the left (longer than the context) is scored alone.
  const bool truncated = std::any_of(choices.begin(), choices.end(), [](const ChoiceTokens& c) { return c.start > 0; });
  if (share_prefix && !truncated && !choices.empty()) {
    const size_t shared = shared_prefix(choices);
    const std::span<const int32_t> prefix(choices.front().tokens.data(), shared);
    std::vector<std::vector<int32_t>> continuations;
    for (const ChoiceTokens& c : choices)  // the model reads every token but the last
      continuations.emplace_back(c.tokens.begin() + static_cast<int64_t>(shared), c.tokens.end() - 1);
    engine.score_continuations(prefix, continuations, [&](size_t i, int64_t row, std::span<const float> logits) {
      const int64_t position = static_cast<int64_t>(shared) + row;
      if (position >= choices[i].first_target - 1) out[i] += target_logprob(choices[i], position, logits);
    });
    return out;
  }
  for (size_t i = 0; i < choices.size(); ++i) {
    const ChoiceTokens& c = choices[i];
    const std::span<const int32_t> input(c.tokens.data() + c.start, c.tokens.size() - c.start - 1);
    engine.score(input, c.first_target - c.start - 1,
                 [&](int64_t row, std::span<const float> logits) { out[i] += target_logprob(c, row, logits); });
  }
  return out;
}

double McResult::acc() const { return items ? acc_sum / items : 0; }
double McResult::acc_norm() const { return items ? acc_norm_sum / items : 0; }
double McResult::acc_standard_error() const {
  if (items < 2) return 0;
  const double m = acc();
  double s = 0;
  for (const McItemScore& x : scores) s += (x.acc - m) * (x.acc - m);
  return std::sqrt(s / (items - 1) / items);
}

McResult evaluate_mc(Engine& engine, McTask task, const std::vector<McItem>& items, const Progress& progress,
                     const std::atomic<bool>* cancel, bool share_prefix) {
  McResult r;
  r.task = task;
  if (progress) progress(0, static_cast<int64_t>(items.size()));
  for (const McItem& item : items) {
    if (cancel && cancel->load()) {
      r.complete = false;
      break;
    }
    McItemScore s = score_mc_item(item, choice_loglikelihoods(engine, item, share_prefix));
    r.acc_sum += s.acc;
    r.acc_norm_sum += s.acc_norm;
    r.scores.push_back(std::move(s));
    ++r.items;
    if (progress) progress(r.items, static_cast<int64_t>(items.size()));
  }
  return r;
}

}  // namespace tightfit::eval
