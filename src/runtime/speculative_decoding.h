// Self-speculative decoding with the model's MTP head (docs/model.md §10.5): each step drafts
// k tokens with the head, verifies them in ONE forward of the main model over
// [last committed token, d_1 … d_k] (logits and hidden states of all k + 1 rows, DeltaNet states
// kept per row), keeps the accepted prefix by rewinding the sequence (Sequence::rewind: no
// re-run) and emits the bonus token sampled from the same verify pass.
//
//  - Greedy (temperature 0): d_i is accepted while it equals the main model's choice y_{i−1};
//    the output is plain greedy decoding's, token for token.
//  - Sampling: d_i ~ q_i (the sampler's distribution of the draft logits) is accepted with
//    probability min(1, p_i(d_i) / q_i(d_i)); on rejection the token is drawn from
//    norm(max(0, p_i − q_i)) and the step ends (Leviathan et al. 2023, Chen et al. 2023): every
//    emitted token has exactly the distribution plain sampling gives it.
//
// Rules that mask or force tokens per position (StepRules: constrained output, a thinking
// budget) are asked while drafting and while verifying, so the output stays plain decoding's.
// A multimodal prompt's rows reach the head as the main model took them (image features, 3-D
// positions), as vLLM's Qwen3.5 MTP drafter reads them.
//
// The head's cache follows the exact rule of §5 step 5: its row t is always built from the
// verified main hidden state h_t and the committed token x_{t+1}; rows written by recursive
// drafts are dropped after each step.
//
//   SpeculativeDecoder spec(session, {.drafts = 2});
//   logits = spec.prefill(prompt, /*last=*/true);      // the last prompt token's logits
//   int32_t token = sampler.sample(logits, history);   // x_P comes from the main model
//   while (...) { auto emitted = spec.step(token, sampler, history); ...; token = emitted.back(); }
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "model/mtp_head.h"
#include "model/session.h"
#include "runtime/sampler.h"
#include "runtime/speculative_stats.h"

namespace tf {

// What decides a step's tokens besides the logits, position by position (the engine's
// constrained sampling and thinking budget, engine/running_request.h). Position 0 is the token
// after the last committed one, position j the token after the drafts d_1 … d_j. The decoder
// asks the same rules while drafting (so no draft the rules refuse is proposed) and while
// verifying (so verify row j is chosen exactly as plain decoding chooses the token after
// d_1 … d_j): the output is plain decoding's, greedy token for token, sampled in distribution.
class StepRules {
 public:
  virtual ~StepRules() = default;
  // A new step from the committed state, with positions 0 … `drafts` (propose calls it).
  virtual void restart(int drafts) = 0;
  // The token position j takes whatever the logits say (a thinking budget's "</think>"), or −1.
  virtual int32_t forced(int j) const = 0;
  // The logits to choose position j's token from: `logits` itself when nothing is refused,
  // else a copy with the refused tokens at −inf, valid until the next call. When no token with
  // a finite logit may come: throws std::runtime_error if `required` (a verify row, as plain
  // decoding throws), else returns an empty span (no draft there).
  virtual std::span<const float> mask(int j, std::span<const float> logits, bool required) = 0;
  // Position j took `token`: prepares position j + 1. False when no draft should follow it
  // (the answer ends with it).
  virtual bool advance(int j, int32_t token) = 0;
};

struct SpeculativeOptions {
  int drafts = 2;  // k: tokens drafted per step (≥ 1)
  // Draft over this reduced vocabulary (nullptr: the full one); verification is unchanged.
  std::shared_ptr<const DraftVocabulary> draft_vocabulary;
  // Benchmarks only (`tightfit bench --spec-accept`): accept each draft with this probability
  // instead of comparing it with the main model, so a model whose head never agrees (random
  // weights) still pays the real cost of drafting, verifying and rewinding. Output is then not
  // the model's.
  std::optional<double> forced_acceptance;
  uint64_t forced_seed = 0;
};

class SpeculativeDecoder {
 public:
  static constexpr int kNoCap = 1 << 30;

  // The session's model must have an MTP head (std::invalid_argument otherwise). The session
  // must outlive the decoder; the head's cache uses the session's KV type and capacity.
  SpeculativeDecoder(Session& session, SpeculativeOptions options);
  // For a caller that runs the forward passes itself (a batching scheduler): the decoder
  // drafts and accepts, the caller feeds `sequence` (observe_prefill, propose / accept below).
  SpeculativeDecoder(Sequence& sequence, const ForwardOptions& forward, SpeculativeOptions options);

  // Session constructor only. Feeds prompt tokens to the session (one forward, keeping its
  // hidden states) and the head (their pairs with the following token). Call for consecutive
  // chunks of the prompt; `last`: this chunk ends the prompt, and the returned span is its last
  // token's logits (empty otherwise). When the session already held tokens the head never saw
  // (a reused chat prefix), the head drafts from the rows it has: output is unchanged,
  // acceptance may drop.
  std::span<const float> prefill(std::span<const int32_t> tokens, bool last);

  // Session constructor only: one draft + verify step = propose, a forward of its tokens,
  // accept. `token` is the last committed token (sampled, not yet fed); `history` the
  // committed tokens so far (for the sampler's penalties), ending with `token`. Returns the
  // tokens this step commits: the accepted drafts and the bonus token (1 … k + 1). Afterwards
  // the sequence holds every committed token but the last returned one.
  std::vector<int32_t> step(int32_t token, Sampler& sampler, std::span<const int32_t> history);

  // The phases, for a caller that batches the forwards:
  //  - observe_prefill: `tokens` were just appended to the sequence by a forward that returned
  //    their final hidden states (OutputRows::All), one row per token.
  //  - propose: drafts after `token`; returns the verify batch [token, d_1 … d_k] to append to
  //    the sequence in one forward with logits and hidden states of every row and keep_states.
  //  - accept: that forward's logits and hidden rows; rewinds the sequence and returns what
  //    step() returns.
  //    A multimodal prompt's chunk also gives the rows as the main model took them: its
  //    `embeddings` (image features spliced in; the head reads them in place of E[token], as
  //    vLLM does) and 3-D rotary `positions` (empty: text positions).
  void observe_prefill(std::span<const int32_t> tokens, std::span<const float> hidden,
                       std::span<const float> embeddings = {},
                       std::span<const Position3> positions = {});
  //    `max_drafts` caps k for this step (the tokens the caller still wants, less the bonus).
  std::span<const int32_t> propose(int32_t token, Sampler& sampler,
                                   std::span<const int32_t> history, int max_drafts = kNoCap);
  std::vector<int32_t> accept(std::span<const float> logits, std::span<const float> hidden,
                              Sampler& sampler, std::span<const int32_t> history);

  // Rules that mask or force tokens per position (nullptr: none). They must outlive their use;
  // propose and accept of one step must see the same rules.
  void set_rules(StepRules* rules) { rules_ = rules; }

  // The caller keeps only the first `count` (≥ 1) tokens the last step returned (a stop
  // condition fired inside them): the sequence is rewound to hold all but the last kept one.
  void keep_emitted(int64_t count);

  // The drafts of the last step (empty before the first and when it could not draft).
  std::span<const int32_t> last_drafts() const {
    if (verify_tokens_.empty()) return {};
    return std::span<const int32_t>(verify_tokens_).subspan(1);
  }
  const SpeculativeStats& stats() const { return stats_; }
  const SpeculativeOptions& options() const { return options_; }
  MtpHead& head() { return head_; }

 private:
  // Runs the main model over `tokens` with hidden states of every row (keep_states: a verify).
  void run_main(std::span<const int32_t> tokens, bool logits_all, bool keep_states);
  // Commits head rows for the pending (hidden, token) pairs and returns the g of the last one.
  std::span<const float> catch_up_head();
  // Draft token from the head's (masked) logits; fills q (its distribution) when sampling.
  int32_t choose_draft(std::span<const float> logits, Sampler& sampler,
                       std::span<const int32_t> history, std::vector<double>* q);
  // Verify row j as the rules let the sampler see it.
  std::span<const float> verify_row(int j, std::span<const float> row) const {
    return rules_ ? rules_->mask(j, row, /*required=*/true) : row;
  }
  // The rotary position of a text row at sequence index `index` (after the prompt's images).
  Position3 text_position(int64_t index) const {
    return Position3::text(index + sequence_.rope_delta());
  }
  void forget_pending();

  const Model& model_;
  Sequence& sequence_;
  Session* session_ = nullptr;  // set by the Session constructor (prefill / step)
  SpeculativeOptions options_;
  MtpHead head_;
  MtpCache cache_;
  std::vector<int64_t> cache_positions_;  // rotary position of every head row

  // Head inputs not yet committed: main hidden rows for sequence indices pending_position_ …
  // with their rotary positions, and the tokens that follow them (one fewer until the next
  // token is known) — with their embeddings when a multimodal prompt gave them (else empty).
  std::vector<float> pending_hidden_;
  std::vector<Position3> pending_rotary_;
  std::vector<int32_t> pending_tokens_;
  std::vector<float> pending_embeddings_;
  int64_t pending_position_ = 0;
  StepRules* rules_ = nullptr;

  int64_t step_start_ = 0;      // sequence length before the last verify
  int64_t step_emitted_ = 0;    // tokens the last step returned
  std::vector<float> step_hidden_;  // verify hidden rows of the last step
  std::vector<int32_t> step_tokens_;  // its emitted tokens
  std::mt19937_64 forced_rng_;
  SpeculativeStats stats_;
  std::vector<int32_t> draft_history_, verify_tokens_;
  std::vector<std::vector<double>> q_;
  std::vector<float> g_last_;
};

}  // namespace tf
