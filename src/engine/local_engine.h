// The Engine of include/tightfit/tightfit.h: a loaded model (EngineContext) and the scheduler
// that runs its requests. submit() checks and prepares a request on the caller's thread
// (engine/prepared_request.h) and queues it; the scheduler's worker thread does the rest.
#pragma once

#include <memory>

#include "engine/engine_context.h"
#include "engine/scheduler.h"
#include "tightfit/tightfit.h"

namespace tightfit {

class LocalEngine final : public Engine {
 public:
  explicit LocalEngine(std::unique_ptr<EngineContext> context);
  ~LocalEngine() override;

  RequestHandle submit(Request request) override;
  const ModelInfo& info() const override { return context_->info; }
  EngineStats stats() const override { return scheduler_->stats(); }

  std::vector<int32_t> encode(std::string_view text) const override;
  std::string decode(std::span<const int32_t> tokens, bool skip_special_tokens) const override;
  std::string token_text(int32_t token) const override;
  std::string apply_chat_template(const Request& request,
                                  bool add_generation_prompt) const override;
  int64_t count_prompt_tokens(const Request& request) const override;

  bool score(std::span<const int32_t> tokens, int64_t first_row,
             const std::function<void(int64_t, std::span<const float>)>& on_row,
             const std::function<void(int64_t, std::span<const float>)>& hidden,
             const std::atomic<bool>* cancel) override;
  bool score_continuations(std::span<const int32_t> prefix,
                           std::span<const std::vector<int32_t>> continuations,
                           const ContinuationRow& on_row, const std::atomic<bool>* cancel) override;

 private:
  std::unique_ptr<EngineContext> context_;
  std::unique_ptr<Scheduler> scheduler_;
};

}  // namespace tightfit
