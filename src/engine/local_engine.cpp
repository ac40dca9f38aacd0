#include "engine/local_engine.h"

#include <algorithm>

#include "engine/prepared_request.h"

namespace tightfit {

LocalEngine::LocalEngine(std::unique_ptr<EngineContext> context)
    : context_(std::move(context)), scheduler_(std::make_unique<Scheduler>(*context_)) {}

// The scheduler cancels what runs and joins its worker before the model goes.
LocalEngine::~LocalEngine() { scheduler_.reset(); }

RequestHandle LocalEngine::submit(Request request) {
  PreparedRequest prepared = prepare_request(*context_, request);
  // The tokens this request's sequence will hold at most, against the memory plan's limit
  // (OutOfMemory with the plan's numbers): refused now rather than killed by the OS half-way.
  // One that fits alone but not beside the running requests waits in the queue (scheduler.h).
  context_->plan.check_tokens(prepared.kv_tokens);
  auto state = std::make_shared<RequestState>();
  scheduler_->enqueue(state, std::move(prepared));
  return RequestHandle(std::move(state));
}

std::vector<int32_t> LocalEngine::encode(std::string_view text) const {
  return context_->tokenizer().encode(text);
}

std::string LocalEngine::decode(std::span<const int32_t> tokens, bool skip_special_tokens) const {
  return context_->tokenizer().decode(tokens, skip_special_tokens);
}

std::string LocalEngine::token_text(int32_t token) const {
  return context_->tokenizer().decode(std::span(&token, 1), false);
}

std::string LocalEngine::apply_chat_template(const Request& request,
                                             bool add_generation_prompt) const {
  if (request.messages.empty())
    throw InvalidRequest("apply_chat_template needs messages", "messages");
  return render_messages(*context_, request, add_generation_prompt);
}

int64_t LocalEngine::count_prompt_tokens(const Request& request) const {
  return prepare_request(*context_, request).prompt_tokens;
}

bool LocalEngine::score(std::span<const int32_t> tokens, int64_t first_row,
                        const std::function<void(int64_t, std::span<const float>)>& on_row,
                        const std::function<void(int64_t, std::span<const float>)>& hidden,
                        const std::atomic<bool>* cancel) {
  const int64_t n = static_cast<int64_t>(tokens.size());
  if (n == 0) throw InvalidRequest("score: no tokens", "tokens");
  context_->plan.check_tokens(n);  // its scratch sequence holds n tokens
  if (n > context_->context)
    throw InvalidRequest("score: " + std::to_string(n) + " tokens, more than the context of " +
                             std::to_string(context_->context),
                         "tokens");
  if (first_row < 0 || first_row >= n)
    throw InvalidRequest("score: first_row must be in [0, " + std::to_string(n) + "), got " +
                             std::to_string(first_row),
                         "first_row");
  as_api_errors("tokens", [&] { context_->model().check_tokens(tokens); });
  ScoreJob job;
  job.tokens = tokens;
  job.first_row = first_row;
  job.on_row = &on_row;
  job.on_hidden = &hidden;
  job.cancel = cancel;
  return scheduler_->score(job);
}

}  // namespace tightfit
