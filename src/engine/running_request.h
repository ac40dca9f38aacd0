// One request on the worker: its prompt as it is fed (ids, or embeddings with images), and the
// per-token pipeline of the generation loop (runtime/generator.h) driven one step at a time
// from the logits the batched forward produced for it: sample (its own Sampler and seed) →
// logprobs → stop checks → streaming decode → stop-string filter → reasoning / answer split →
// events. Constrained sampling (engine/output_constraint.h) masks the logits before the sampler
// and ends a JSON answer when its value is complete. A thinking budget closes the thought by feeding "</think>\n\n" instead of sampling
// (llama.cpp's reasoning budget does the same).
//
// With speculative decoding (PreparedRequest::draft_tokens > 0, docs/engine.md "Speculative
// decoding") a step feeds the last token and the MTP head's drafts (propose) and commits the
// accepted drafts and the bonus token (advance_speculative), each through the same per-token
// pipeline as a plain step, so stop strings, max_tokens, logprobs and events are exact.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "engine/engine_context.h"
#include "engine/output_constraint.h"
#include "engine/prepared_request.h"
#include "engine/prompt_images.h"
#include "engine/request_state.h"
#include "runtime/multimodal_prompt.h"
#include "runtime/reasoning_split.h"
#include "runtime/speculative_decoding.h"
#include "runtime/sampler.h"
#include "runtime/stop_conditions.h"
#include "tokenizer/streaming_decoder.h"

namespace tightfit {

class RunningRequest {
 public:
  // Throws InvalidRequest for settings the runtime refuses (validated by prepare_request).
  RunningRequest(const EngineContext& context, std::shared_ptr<RequestState> state,
                 PreparedRequest prepared);

  RequestState& state() { return *state_; }
  const PreparedRequest& prepared() const { return prepared_; }

  // The prompt as fed: `ids` (images expanded) and, with images, the embeddings and positions.
  std::vector<int32_t> ids;
  std::optional<tf::MultimodalPrompt> multimodal;
  // What the prompt cache knows the prompt by (engine/prompt_cache.h), and the stable point
  // (PreparedRequest::stable_point) in `ids`' positions.
  std::vector<int32_t> cache_key;
  int64_t stable_point = 0;
  int64_t prefilled = 0;  // prompt tokens in the sequence (restored or fed)
  int64_t cached = 0;     // of which restored from the prompt cache
  bool prefilling() const { return prefilled < static_cast<int64_t>(ids.size()); }
  // With images: their features (zero until encoded) and, while some still go through the
  // vision tower a stage per scheduler step, that work; `multimodal` is built once it is done.
  std::vector<tf::ImageFeatures> images;
  std::optional<PendingImages> pending_images;
  bool encoding_images() const { return pending_images.has_value(); }

  // Timing marks.
  void started();
  void add_vision_seconds(double seconds) { timing_.vision_seconds += seconds; }
  void prompt_done();

  // The logits of the last fed row: picks the next token and streams its text. Returns true
  // when the request goes on (feed next_token()), false when it finished (done event pushed).
  // `room_for_next`: the sequence can take one more token.
  bool advance(std::span<const float> logits, bool room_for_next);
  int32_t next_token() const { return next_token_; }
  int64_t generated() const { return usage_.completion_tokens; }

  // Speculative decoding, set up by the scheduler on the slot's sequence (which must outlive
  // this request) when PreparedRequest::draft_tokens > 0.
  void speculate_on(tf::Sequence& sequence, const tf::ForwardOptions& forward);
  bool speculating() const { return speculative_ != nullptr; }
  // A prompt chunk (`item`, rows prefilled … of `ids`) was fed with the final hidden state of
  // every row: the head reads them (with the chunk's embeddings and positions, images included).
  void observe_prefill(const tf::BatchItem& item, std::span<const float> hidden);
  // This step's rows: next_token() and the drafts after it (no more than the tokens still
  // wanted, none past a thinking budget's end; drafts the output constraint refuses are never
  // proposed, and forced tokens are drafted as they are). Feed them in one forward with logits and hidden states of every row and
  // keep_states (tf::BatchItem).
  std::span<const int32_t> propose();
  // That forward's outputs: keeps the accepted prefix in the sequence (rewind, no re-run) and
  // commits the accepted drafts and the bonus token as advance() commits one. `length` and
  // `capacity`: the sequence's after the forward. Returns as advance() does.
  bool advance_speculative(std::span<const float> logits, std::span<const float> hidden,
                           int64_t length, int64_t capacity);

  // Ends the request: flushes held-back text and makes the done event, which the scheduler
  // pushes (take_done) once its counters include this request, so that a consumer who saw the
  // done event also sees the engine's stats updated.
  void finish(StopReason reason, const std::string& error = {});
  bool finished() const { return finished_; }
  Event take_done() { return std::move(done_); }

 private:
  // The chosen token through stop checks, logprobs and the text pipeline (`logits`: the row it
  // was chosen from). Returns as advance() does.
  bool commit(int32_t token, std::span<const float> logits, bool room_for_next);
  TokenLogprob logprob_of(std::span<const float> logits, int32_t token) const;
  // Drafts this step may hold under the thinking budget: the budget's forced "</think>" comes
  // where plain decoding puts it, never inside a step's drafts.
  int64_t drafts_before_budget() const;
  void emit(const std::vector<tf::TextPiece>& pieces);
  void emit_text(std::string_view text) { if (!text.empty()) emit(splitter_.push(text)); }

  const EngineContext& context_;
  std::shared_ptr<RequestState> state_;
  PreparedRequest prepared_;
  tf::Sampler sampler_;
  ConstrainedSampling constrained_;
  tf::StopConditions stops_;
  tf::tokenizer::StreamingDecoder decoder_;
  tf::ReasoningSplitter splitter_;
  std::vector<int32_t> history_;        // prompt + generated, for the penalties
  std::deque<int32_t> forced_;          // tokens fed instead of sampling (thinking budget)
  bool budget_spent_ = false;
  std::vector<int32_t> pending_tokens_;  // not yet attached to an event
  std::vector<TokenLogprob> pending_logprobs_;
  // The speculative step's view of the constraint and the forced tokens (tf::StepRules).
  class DraftRules final : public tf::StepRules {
   public:
    explicit DraftRules(RunningRequest& r) : r_(r) {}
    void restart(int drafts) override { r_.constrained_.fork(drafts); }
    int32_t forced(int j) const override {
      return static_cast<size_t>(j) < r_.forced_.size() ? r_.forced_[static_cast<size_t>(j)] : -1;
    }
    std::span<const float> mask(int j, std::span<const float> logits, bool required) override {
      return r_.constrained_.fork_mask(j, logits, required);
    }
    bool advance(int j, int32_t token) override { return r_.constrained_.fork_advance(j, token); }

   private:
    RunningRequest& r_;
  };
  DraftRules step_rules_{*this};
  std::unique_ptr<tf::SpeculativeDecoder> speculative_;
  int32_t next_token_ = 0;
  bool finished_ = false;
  Event done_;
  Usage usage_;
  Timing timing_;
  Clock::time_point started_, prompt_done_, first_token_;
};

}  // namespace tightfit
