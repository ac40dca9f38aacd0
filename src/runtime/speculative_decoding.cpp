#include "runtime/speculative_decoding.h"

#include <algorithm>
#include <cstdio>
#include <stdexcept>

namespace tf {

SpeculativeDecoder::SpeculativeDecoder(Session& session, SpeculativeOptions options)
    : SpeculativeDecoder(session.sequence(), session.forward_pass().options(), std::move(options)) {
  session_ = &session;
}

SpeculativeDecoder::SpeculativeDecoder(Sequence& sequence, const ForwardOptions& forward,
                                       SpeculativeOptions options)
    : model_(sequence.model()),
      sequence_(sequence),
      options_(std::move(options)),
      head_(sequence.model(), forward),
      cache_(sequence.model(), sequence.kv_type(), sequence.capacity()),
      forced_rng_(options_.forced_seed) {
  if (options_.drafts < 1)
    throw std::invalid_argument("--draft must be at least 1 (use --no-spec to turn speculation off)");
  if (options_.forced_acceptance &&
      (*options_.forced_acceptance < 0.0 || *options_.forced_acceptance > 1.0))
    throw std::invalid_argument("forced acceptance must be in [0, 1]");
  head_.set_draft_vocabulary(options_.draft_vocabulary.get());
  stats_.proposed_at.assign(options_.drafts, 0);
  stats_.accepted_at.assign(options_.drafts, 0);
}

void SpeculativeDecoder::run_main(std::span<const int32_t> tokens, bool logits_all,
                                  bool keep_states) {
  BatchItem item;
  item.sequence = &sequence_;
  item.tokens = tokens;
  item.logits = logits_all ? OutputRows::All : OutputRows::Last;
  item.hidden = OutputRows::All;
  item.keep_states = keep_states;
  session_->forward_pass().run(std::span<const BatchItem>(&item, 1));
}

void SpeculativeDecoder::forget_pending() {
  pending_hidden_.clear();
  pending_rotary_.clear();
  pending_tokens_.clear();
  pending_embeddings_.clear();
}

std::span<const float> SpeculativeDecoder::catch_up_head() {
  const int64_t H = model_.hidden_size();
  const int64_t pairs = static_cast<int64_t>(pending_tokens_.size());
  const auto g = head_.run(cache_, pending_tokens_, pending_embeddings_,
                           std::span<const float>(pending_hidden_).subspan(0, pairs * H),
                           std::span<const Position3>(pending_rotary_).first(pairs));
  for (int64_t i = 0; i < pairs; ++i) cache_positions_.push_back(pending_position_ + i);
  // The last hidden row waits for the token that follows it.
  pending_hidden_.erase(pending_hidden_.begin(), pending_hidden_.begin() + pairs * H);
  pending_rotary_.erase(pending_rotary_.begin(), pending_rotary_.begin() + pairs);
  pending_tokens_.clear();
  pending_embeddings_.clear();
  pending_position_ += pairs;
  return g.subspan((pairs - 1) * H, H);
}

void SpeculativeDecoder::observe_prefill(std::span<const int32_t> tokens,
                                         std::span<const float> hidden,
                                         std::span<const float> embeddings,
                                         std::span<const Position3> positions) {
  const int64_t H = model_.hidden_size(), n = static_cast<int64_t>(tokens.size());
  const int64_t start = sequence_.length() - n;
  if (static_cast<int64_t>(hidden.size()) != n * H ||
      (!embeddings.empty() && static_cast<int64_t>(embeddings.size()) != n * H) ||
      (!positions.empty() && static_cast<int64_t>(positions.size()) != n))
    throw std::invalid_argument("SpeculativeDecoder::observe_prefill: one hidden row (and "
                                "embedding and position, when given) per token");
  // Head rows are valid for positions t with x_{t+1} in what the sequence held before these
  // tokens (≤ start − 2); pending rows only if they end right before the new tokens (else the
  // sequence was cut or fed elsewhere since).
  const int64_t pending_rows = static_cast<int64_t>(pending_rotary_.size());
  if (pending_rows == 0 || pending_position_ + pending_rows != start) forget_pending();
  while (!cache_positions_.empty() && cache_positions_.back() >= start - 1) {
    cache_positions_.pop_back();
  }
  cache_.truncate(static_cast<int64_t>(cache_positions_.size()));
  if (tokens.empty()) return;
  size_t skip = 0;
  if (pending_hidden_.empty()) {
    pending_position_ = start;  // x_start has no hidden state before it here
    skip = 1;
  }
  pending_hidden_.insert(pending_hidden_.end(), hidden.begin(), hidden.end());
  for (int64_t i = 0; i < n; ++i)
    pending_rotary_.push_back(positions.empty() ? text_position(start + i) : positions[i]);
  if (!embeddings.empty() && pending_embeddings_.empty() && !pending_tokens_.empty()) {
    // Tokens of an earlier step wait beside this chunk's embeddings: embed them too.
    pending_embeddings_.resize(pending_tokens_.size() * H);
    model_.embed(pending_tokens_, pending_embeddings_.data());
  }
  pending_tokens_.insert(pending_tokens_.end(), tokens.begin() + skip, tokens.end());
  if (!embeddings.empty())
    pending_embeddings_.insert(pending_embeddings_.end(), embeddings.begin() + skip * H,
                               embeddings.end());
  if (!pending_tokens_.empty()) catch_up_head();
}

std::span<const float> SpeculativeDecoder::prefill(std::span<const int32_t> tokens, bool last) {
  if (!session_) throw std::logic_error("SpeculativeDecoder::prefill needs the Session constructor");
  if (tokens.empty()) return {};
  run_main(tokens, false, false);
  observe_prefill(tokens, session_->forward_pass().hidden(0));
  return last ? session_->forward_pass().logits(0) : std::span<const float>();
}

int32_t SpeculativeDecoder::choose_draft(std::span<const float> logits, Sampler& sampler,
                                         std::span<const int32_t> history,
                                         std::vector<double>* q) {
  if (!q || sampler.config().greedy() || options_.forced_acceptance)
    return sampler.sample(logits, history);
  *q = sampler.distribution(logits, history);
  return sampler.draw(*q);
}

std::span<const int32_t> SpeculativeDecoder::propose(int32_t token, Sampler& sampler,
                                                     std::span<const int32_t> history,
                                                     int max_drafts) {
  const int64_t start = sequence_.length();
  const bool sampling = !sampler.config().greedy() && !options_.forced_acceptance;

  // 1. Draft (§5 step 1): commit the head rows of the new pairs, the last one's output gives
  //    d_1; d_2 … d_k come from recursive rows that are dropped afterwards. Without the main
  //    hidden state of the previous position (nothing fed through prefill / step) no draft.
  const int64_t pending_rows = static_cast<int64_t>(pending_rotary_.size());
  const bool can_draft = pending_rows > 0 && pending_position_ + pending_rows == start;
  if (!can_draft) forget_pending();
  // Near the end of the sequence's capacity fewer drafts fit in the verify batch.
  const int64_t room = sequence_.capacity() - start - 1;
  const int64_t most = std::min<int64_t>({options_.drafts, room, max_drafts});
  const int k = can_draft ? static_cast<int>(std::max<int64_t>(most, 0)) : 0;
  verify_tokens_.assign(1, token);
  draft_history_.assign(history.begin(), history.end());
  q_.resize(k);
  if (rules_) rules_->restart(k);
  if (can_draft) {  // the head's rows stay complete even in a step without drafts
    pending_tokens_.push_back(token);
    const auto g = catch_up_head();
    g_last_.assign(g.begin(), g.end());
  }
  if (k > 0) {
    const int64_t committed_rows = cache_.rows();
    for (int j = 0; j < k; ++j) {
      // A forced token is the draft (verified for free); else the head's choice among the
      // tokens the rules allow here — none allowed: no draft from here on.
      int32_t d = rules_ ? rules_->forced(j) : -1;
      if (d < 0) {
        std::span<const float> logits = head_.logits(g_last_, 1);
        if (rules_) logits = rules_->mask(j, logits, /*required=*/false);
        if (logits.empty()) break;
        d = choose_draft(logits, sampler, draft_history_, sampling ? &q_[j] : nullptr);
      }
      verify_tokens_.push_back(d);
      draft_history_.push_back(d);
      if (rules_ && !rules_->advance(j, d)) break;
      if (j + 1 < k) {
        const Position3 position = text_position(start + j);
        const auto next = head_.run(cache_, std::span<const int32_t>(&d, 1), {}, g_last_,
                                    std::span<const Position3>(&position, 1));
        g_last_.assign(next.begin(), next.end());
      }
    }
    cache_.truncate(committed_rows);
  }
  step_start_ = start;
  return verify_tokens_;
}

std::vector<int32_t> SpeculativeDecoder::accept(std::span<const float> logits,
                                                std::span<const float> hidden, Sampler& sampler,
                                                std::span<const int32_t> history) {
  const int64_t H = model_.hidden_size(), V = model_.vocab_size();
  const int64_t start = step_start_;
  const int k = static_cast<int>(verify_tokens_.size()) - 1;
  const bool sampling = !sampler.config().greedy() && !options_.forced_acceptance;
  if (static_cast<int64_t>(logits.size()) != (k + 1) * V ||
      static_cast<int64_t>(hidden.size()) != (k + 1) * H ||
      sequence_.length() != start + k + 1)
    throw std::logic_error("SpeculativeDecoder::accept: expects the verify batch of propose() "
                           "(logits and hidden states of all its rows, fed with keep_states)");
  auto row = [&](int64_t i) { return logits.subspan(i * V, V); };

  // 3. Accept (§5 step 3): the longest agreeing prefix, then the bonus / correction token.
  draft_history_.assign(history.begin(), history.end());
  std::vector<int32_t> emitted;
  int a = 0;
  for (;; ++a) {
    const int32_t forced = rules_ ? rules_->forced(a) : -1;
    if (a == k) {  // every draft accepted: the bonus token from the last row
      emitted.push_back(forced >= 0 ? forced : sampler.sample(verify_row(a, row(a)), draft_history_));
      break;
    }
    const int32_t d = verify_tokens_[a + 1];
    if (forced >= 0) {  // plain decoding takes it too: the draft (= forced) is accepted
      emitted.push_back(forced);
      if (forced != d) break;
      draft_history_.push_back(d);
      continue;
    }
    if (options_.forced_acceptance) {
      const double u = static_cast<double>(forced_rng_() >> 11) * 0x1.0p-53;
      if (u < *options_.forced_acceptance) {
        emitted.push_back(d);
        draft_history_.push_back(d);
        continue;
      }
      emitted.push_back(sampler.sample(verify_row(a, row(a)), draft_history_));
      break;
    }
    if (!sampling) {
      const int32_t y = sampler.sample(verify_row(a, row(a)), draft_history_);
      emitted.push_back(y);
      if (y != d) break;
      draft_history_.push_back(y);
      continue;
    }
    // min(1, p/q) acceptance; on rejection a draw from norm(max(0, p − q)).
    std::vector<double> p = sampler.distribution(verify_row(a, row(a)), draft_history_);
    const std::vector<double>& q = q_[a];
    if (sampler.uniform() * q[d] < p[d]) {
      emitted.push_back(d);
      draft_history_.push_back(d);
      continue;
    }
    double mass = 0.0;
    for (size_t i = 0; i < p.size(); ++i) {
      p[i] = std::max(0.0, p[i] - (i < q.size() ? q[i] : 0.0));
      mass += p[i];
    }
    if (mass <= 0.0) throw std::logic_error("speculative sampling: empty residual distribution");
    for (double& x : p) x /= mass;
    emitted.push_back(sampler.draw(p));
    break;
  }

  // 4. Keep the state after token, d_1 … d_a (§5 step 4): no re-run.
  sequence_.rewind(start + a + 1);
  step_emitted_ = static_cast<int64_t>(emitted.size());
  step_hidden_.assign(hidden.begin(), hidden.begin() + (a + 1) * H);
  step_tokens_ = emitted;
  // 5. The head's next inputs: verified hidden rows start … start + a with the tokens that
  //    follow them (the last one's token is the next step's `token`).
  pending_position_ = start;
  pending_hidden_ = step_hidden_;
  pending_rotary_.clear();
  for (int i = 0; i <= a; ++i) pending_rotary_.push_back(text_position(start + i));
  pending_tokens_.assign(emitted.begin(), emitted.end() - 1);
  pending_embeddings_.clear();

  stats_.steps += 1;
  stats_.drafts_proposed += k;
  stats_.drafts_accepted += a;
  for (int j = 0; j < k; ++j) stats_.proposed_at[j] += 1;
  for (int j = 0; j < a; ++j) stats_.accepted_at[j] += 1;
  return emitted;
}

std::vector<int32_t> SpeculativeDecoder::step(int32_t token, Sampler& sampler,
                                              std::span<const int32_t> history) {
  if (!session_) throw std::logic_error("SpeculativeDecoder::step needs the Session constructor");
  run_main(propose(token, sampler, history), true, true);
  return accept(session_->forward_pass().logits(0), session_->forward_pass().hidden(0), sampler,
                history);
}

void SpeculativeDecoder::keep_emitted(int64_t count) {
  if (count < 1 || count > step_emitted_)
    throw std::logic_error("SpeculativeDecoder::keep_emitted: " + std::to_string(count) +
                           " of " + std::to_string(step_emitted_) + " tokens");
  if (count == step_emitted_) return;
  const int64_t H = model_.hidden_size();
  sequence_.rewind(step_start_ + count);
  pending_position_ = step_start_;
  pending_hidden_.assign(step_hidden_.begin(), step_hidden_.begin() + count * H);
  pending_rotary_.resize(count);
  pending_tokens_.assign(step_tokens_.begin(), step_tokens_.begin() + count - 1);
  step_emitted_ = count;
}

}  // namespace tf
