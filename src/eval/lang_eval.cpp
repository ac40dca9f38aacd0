// `eval lang`: one answer per prompt, thinking off, sampled as the Qwen3.5 model card recommends
// for non-thinking chat (temperature 0.7, top_p 0.8, top_k 20, min_p 0), each answer classified
// by classify_text (script_classifier.cpp). A stop by the engine's loop guard counts as a loop.
#include <chrono>

#include "tightfit/eval.h"

namespace tightfit::eval {

namespace {

Result run_one(Engine& engine, Request request, const std::atomic<bool>* cancel) {
  RequestHandle handle = engine.submit(std::move(request));
  Result r;
  bool cancelled = false;
  while (!handle.finished()) {
    if (cancel && cancel->load() && !cancelled) {
      handle.cancel();
      cancelled = true;
    }
    const std::optional<Event> e = handle.next_for(std::chrono::milliseconds(100));
    if (!e) continue;
    if (e->kind == EventKind::answer) r.text += e->text;
    if (e->kind == EventKind::reasoning) r.reasoning += e->text;
    if (e->kind == EventKind::done) {
      r.stop = e->stop;
      r.error = e->error;
      r.usage = e->usage;
    }
  }
  if (r.stop == StopReason::error) throw Error("generation failed: " + r.error);
  return r;
}

}  // namespace

LangResult evaluate_lang(Engine& engine, const std::vector<std::string>& prompts, const LangOptions& options,
                         const Progress& progress, const std::atomic<bool>* cancel) {
  classify_text("", options.language);  // an unknown language is refused before any work
  LangResult out;
  const int64_t total = static_cast<int64_t>(prompts.size());
  if (progress) progress(0, total);
  for (size_t i = 0; i < prompts.size(); ++i) {
    if (cancel && cancel->load()) {
      out.complete = false;
      break;
    }
    Request request;
    request.messages = {Message::text("user", prompts[i])};
    request.enable_thinking = false;
    request.max_tokens = options.max_tokens;
    request.sampling = options.sampling;
    SamplingParams& s = request.sampling;
    if (!s.temperature) s.temperature = 0.7f;
    if (!s.top_p) s.top_p = 0.8f;
    if (!s.top_k) s.top_k = 20;
    if (!s.min_p) s.min_p = 0.0f;
    if (!s.seed) s.seed = options.seed + i;  // reproducible, different per prompt
    const Result r = run_one(engine, std::move(request), cancel);
    if (r.stop == StopReason::cancelled) {
      out.complete = false;
      break;
    }
    LangAnswer a;
    a.prompt = prompts[i];
    a.answer = r.text;
    a.stop = to_string(r.stop);
    a.verdict = classify_text(r.text, options.language);
    if (r.stop == StopReason::repetition_loop) a.verdict.loop = true;
    out.ok += a.verdict.ok();
    out.foreign += a.verdict.foreign;
    out.garbage += a.verdict.garbage;
    out.loops += a.verdict.loop;
    out.answers.push_back(std::move(a));
    if (progress) progress(static_cast<int64_t>(out.answers.size()), total);
  }
  return out;
}

}  // namespace tightfit::eval
