// The API's plain value types as read-only Python objects: what a model is (ModelInfo), what a
// request produced (Event with Usage and Timing), the engine's counters (EngineStats).
#include <pybind11/stl.h>

#include "bindings.h"
#include "tightfit/tightfit.h"

namespace tightfit::python {

namespace {

const char* kind_name(EventKind kind) {
  switch (kind) {
    case EventKind::reasoning: return "reasoning";
    case EventKind::answer: return "answer";
    case EventKind::done: return "done";
  }
  return "unknown";
}

}  // namespace

void bind_values(py::module_& m) {
  py::class_<ModelInfo>(m, "ModelInfo", "What the loaded model is (Engine::info).")
      .def_readonly("name", &ModelInfo::name, "The folder name or repo id.")
      .def_readonly("path", &ModelInfo::path, "The resolved local folder.")
      .def_readonly("model_type", &ModelInfo::model_type)
      .def_readonly("layout", &ModelInfo::layout, "tensor names of the files: \"Hugging Face\", \"mlx-vlm\" or \"mlx-lm\"")
      .def_readonly("vocab_size", &ModelInfo::vocab_size)
      .def_readonly("hidden_size", &ModelInfo::hidden_size)
      .def_readonly("layers", &ModelInfo::layers)
      .def_readonly("context_length", &ModelInfo::context_length,
                    "Tokens a sequence may hold.")
      .def_readonly("has_vision", &ModelInfo::has_vision, "Images can be given.")
      .def_readonly("has_mtp", &ModelInfo::has_mtp, "Speculative decoding is available.")
      .def_readonly("bits_per_weight", &ModelInfo::bits_per_weight)
      .def_readonly("weight_bytes", &ModelInfo::weight_bytes)
      .def_readonly("eos_token_ids", &ModelInfo::eos_token_ids)
      .def_readonly("activations", &ModelInfo::activations)
      .def_readonly("threads", &ModelInfo::threads)
      .def_readonly("kv_type", &ModelInfo::kv_type)
      .def_readonly("memory_limit", &ModelInfo::memory_limit, "Bytes the engine may take.")
      .def_readonly("memory_fixed", &ModelInfo::memory_fixed,
                    "Of which weights, buffers, sequence state and the process.")
      .def_readonly("kv_bytes_per_token", &ModelInfo::kv_bytes_per_token,
                    "KV cache one held token takes.")
      .def_readonly("memory_tokens", &ModelInfo::memory_tokens,
                    "KV tokens the rest of the limit holds, over all sequences.")
      .def_readonly("weights_locked", &ModelInfo::weights_locked,
                    "load(mlock=True) locked the weights in memory.")
      .def("__repr__", [](const ModelInfo& i) {
        return "<tightfit.ModelInfo " + i.name + ": " + i.model_type + ", " +
               std::to_string(i.layers) + " layers, vocab " + std::to_string(i.vocab_size) +
               (i.has_vision ? ", vision" : "") + ">";
      });

  py::class_<SpeculativeUsage>(m, "SpeculativeUsage",
                               "Speculative decoding's counters of one request (0 when it did "
                               "not speculate).")
      .def_readonly("steps", &SpeculativeUsage::steps, "Draft + verify steps.")
      .def_readonly("drafts_proposed", &SpeculativeUsage::drafts_proposed)
      .def_readonly("drafts_accepted", &SpeculativeUsage::drafts_accepted)
      .def_readonly("proposed_at", &SpeculativeUsage::proposed_at,
                    "Drafts proposed per position in a step (index 0: the first draft).")
      .def_readonly("accepted_at", &SpeculativeUsage::accepted_at,
                    "Drafts accepted per position in a step.");

  py::class_<Usage>(m, "Usage", "Token counts of one request.")
      .def_readonly("prompt_tokens", &Usage::prompt_tokens)
      .def_readonly("cached_tokens", &Usage::cached_tokens,
                    "Of the prompt, restored from the prompt cache.")
      .def_readonly("completion_tokens", &Usage::completion_tokens)
      .def_readonly("reasoning_tokens", &Usage::reasoning_tokens)
      .def_readonly("images", &Usage::images)
      .def_readonly("speculative", &Usage::speculative);

  py::class_<Timing>(m, "Timing", "Where one request's time went.")
      .def_readonly("queued_seconds", &Timing::queued_seconds)
      .def_readonly("vision_seconds", &Timing::vision_seconds)
      .def_readonly("prompt_seconds", &Timing::prompt_seconds)
      .def_readonly("generation_seconds", &Timing::generation_seconds)
      .def_readonly("time_to_first_token", &Timing::time_to_first_token)
      .def_readonly("peak_memory_bytes", &Timing::peak_memory_bytes);

  py::class_<TokenLogprob>(m, "TokenLogprob")
      .def_readonly("token", &TokenLogprob::token)
      .def_readonly("logprob", &TokenLogprob::logprob)
      .def_readonly("top", &TokenLogprob::top, "(token, logprob) pairs, best first.");

  py::class_<Event>(m, "Event",
                    "One piece of a request's output: reasoning or answer text, or the final "
                    "'done' event with the stop reason, usage and timing.")
      .def_property_readonly("kind", [](const Event& e) { return kind_name(e.kind); },
                             "'reasoning', 'answer' or 'done'.")
      .def_readonly("text", &Event::text)
      .def_readonly("tokens", &Event::tokens)
      .def_readonly("logprobs", &Event::logprobs)
      .def_property_readonly("stop", [](const Event& e) { return to_string(e.stop); },
                             "done only: 'eos', 'stop_string', 'max_tokens', 'repetition_loop', "
                             "'context_full', 'cancelled' or 'error'.")
      .def_readonly("stop_string", &Event::stop_string)
      .def_readonly("error", &Event::error)
      .def_readonly("notice", &Event::notice, "done only: a line for the user about the stop.")
      .def_readonly("max_tokens", &Event::max_tokens, "The token budget the request had.")
      .def_readonly("usage", &Event::usage)
      .def_readonly("timing", &Event::timing)
      .def_property_readonly("prompt_tps",
                             [](const Event& e) { return prompt_tokens_per_second(e.usage, e.timing); })
      .def_property_readonly(
          "generation_tps",
          [](const Event& e) { return generation_tokens_per_second(e.usage, e.timing); })
      .def("__repr__", [](const Event& e) {
        return std::string("<tightfit.Event ") + kind_name(e.kind) +
               (e.kind == EventKind::done ? std::string(" ") + to_string(e.stop)
                                          : " " + py::repr(py::str(e.text)).cast<std::string>()) +
               ">";
      });

  py::class_<EngineStats>(m, "EngineStats", "The engine's counters.")
      .def_readonly("requests_total", &EngineStats::requests_total)
      .def_readonly("requests_active", &EngineStats::requests_active)
      .def_readonly("requests_queued", &EngineStats::requests_queued)
      .def_readonly("requests_refused", &EngineStats::requests_refused)
      .def_readonly("prompt_tokens_total", &EngineStats::prompt_tokens_total)
      .def_readonly("cached_tokens_total", &EngineStats::cached_tokens_total)
      .def_readonly("generated_tokens_total", &EngineStats::generated_tokens_total)
      .def_readonly("prompt_cache_hits", &EngineStats::prompt_cache_hits)
      .def_readonly("prompt_cache_bytes", &EngineStats::prompt_cache_bytes)
      .def_readonly("resident_memory_bytes", &EngineStats::resident_memory_bytes)
      .def_readonly("busy_seconds", &EngineStats::busy_seconds);
}

}  // namespace tightfit::python
