#include "cli/engine_flags.h"

#include <chrono>
#include <cstdio>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/interrupt.h"
#include "cli/model_flag.h"
#include "tightfit/plan.h"
#include "runtime/generation_stats.h"
#include "quant/model_summary.h"
#include "runtime/hub_cache.h"
#include "runtime/peak_memory.h"
#include "runtime/reasoning_split.h"

namespace tf::cli {

std::unique_ptr<tightfit::Engine> load_engine(const GenerationFlags& f, bool vision,
                                              bool prompt_cache) {
  tightfit::EngineOptions options;
  set_kv_cache_options(f.kv_cache, options);  // bad values found before the model loads
  if (!f.memory_limit.empty()) {
    try {
      options.memory_limit = tightfit::parse_byte_size(f.memory_limit, "--memory-limit");
    } catch (const tightfit::InvalidRequest& e) {
      throw UsageError(e.what());
    }
  }
  if (f.context && *f.context <= 0)
    throw UsageError("--ctx-size must be a positive number of tokens, got " +
                     std::to_string(*f.context));
  ResolvedModel source = resolve_model_flag(f.model);
  SigintBlockForNewThreads block;  // the worker threads must leave Ctrl-C to the main thread
  try {
    options.model = source.dir.string();
    options.threads = f.threads;
    if (f.context) options.context = *f.context;
    // --draft N is also the engine's default, so a model without an MTP head is refused at load.
    if (f.draft && !f.no_spec) options.draft_tokens = *f.draft;
    if (f.draft_vocab) options.draft_vocab = *f.draft_vocab;
    options.vision = vision;
    options.parallel = 1;
    options.mlock = f.mlock;
    if (!prompt_cache) options.prompt_cache_bytes = 0;
    return tightfit::Engine::load(std::move(options));
  } catch (const tightfit::ModelNotFound& e) {  // a folder without tokenizer.json
    throw ModelNotFoundError("--model " + f.model + ": " + e.what());
  } catch (const tightfit::InvalidRequest& e) {
    throw_load_refusal(e);
  } catch (const tightfit::OutOfMemory& e) {  // the model alone exceeds --memory-limit; --mlock
    throw BadInputError(e.what());
  }
}

void throw_load_refusal(const tightfit::InvalidRequest& e) {
  if (e.param == "model") throw std::runtime_error(e.what());
  // The draft vocabulary's messages name its file (draft_vocab.txt): only their lead is the field.
  const std::string lead = "draft_vocab:";
  if (e.param == "draft_vocab" && std::string_view(e.what()).starts_with(lead))
    throw UsageError("--draft-vocab:" + std::string(e.what()).substr(lead.size()));
  throw UsageError(flag_message(e));
}

// --draft / --no-spec as Request::draft_tokens (unset: the engine's default, off). The engine
// checks the model's MTP head (Engine::load, load_engine passes --draft on) and falls back to
// plain steps where a feature needs them (docs/engine.md "Speculative decoding").
static std::optional<int> draft_tokens(const GenerationFlags& f) {
  if (f.no_spec && f.draft) throw UsageError("--draft and --no-spec contradict each other: give one");
  if (f.draft && *f.draft < 0)
    throw UsageError("--draft must be 0 or more, got " + std::to_string(*f.draft));
  if (f.draft_vocab) {
    if (*f.draft_vocab <= 0)
      throw UsageError("--draft-vocab must be a positive number of tokens, got " +
                       std::to_string(*f.draft_vocab));
    if (f.no_spec || !f.draft || *f.draft == 0)
      throw UsageError("--draft-vocab needs --draft N (speculative decoding) to draft with");
  }
  if (f.no_spec) return 0;
  return f.draft;
}

tightfit::Request request_from_flags(const GenerationFlags& f) {
  tightfit::Request r;
  SamplerOverrides overrides = f.sampling;
  try {
    if (!f.logit_bias.empty()) overrides.logit_bias = parse_logit_bias(f.logit_bias);
    validate(apply_overrides(SamplerConfig{}, overrides));
  } catch (const std::invalid_argument& e) {
    throw UsageError(e.what());
  }
  tightfit::SamplingParams& s = r.sampling;
  s.temperature = overrides.temperature;
  s.top_p = overrides.top_p;
  s.top_k = overrides.top_k;
  s.min_p = overrides.min_p;
  s.presence_penalty = overrides.presence_penalty;
  s.frequency_penalty = overrides.frequency_penalty;
  s.repetition_penalty = overrides.repetition_penalty;
  s.repetition_context_size = overrides.repetition_context_size;
  s.seed = overrides.seed;
  s.logit_bias = overrides.logit_bias;
  if (f.max_tokens && *f.max_tokens <= 0)
    throw UsageError("--max-tokens must be a positive number, got " +
                     std::to_string(*f.max_tokens));
  r.max_tokens = f.max_tokens;
  for (const std::string& stop : f.stop)
    if (stop.empty()) throw UsageError("--stop: a stop string cannot be empty");
  r.stop = f.stop;
  r.loop_guard = !f.no_loop_guard;
  r.enable_thinking = thinking_flag(f);
  const nlohmann::ordered_json kwargs = template_kwargs(f);
  if (!kwargs.empty()) r.template_kwargs = kwargs.dump();
  r.draft_tokens = draft_tokens(f);
  return r;
}

void print_engine_settings(const tightfit::Engine& engine, const GenerationFlags& f) {
  const tightfit::ModelInfo& info = engine.info();
  SamplerOverrides overrides = f.sampling;
  if (!f.logit_bias.empty()) overrides.logit_bias = parse_logit_bias(f.logit_bias);
  const SamplerConfig s = apply_overrides(load_generation_defaults(info.path).sampler, overrides);
  std::fprintf(stderr, "model: %s (%lld layers, vocab %lld, %d threads)\n", info.path.c_str(),
               static_cast<long long>(info.layers), static_cast<long long>(info.vocab_size),
               info.threads);
  std::fprintf(stderr,
               "sampling: temp %g, top_p %g, top_k %d, min_p %g, repetition_penalty %g, "
               "presence %g, frequency %g%s\n",
               s.temperature, s.top_p, s.top_k, s.min_p, s.repetition_penalty,
               s.presence_penalty, s.frequency_penalty,
               s.seed ? (", seed " + std::to_string(*s.seed)).c_str() : "");
  std::fprintf(stderr, "%s\n", memory_line(info).c_str());
}

std::string memory_line(const tightfit::ModelInfo& info) {
  return "memory: limit " + format_bytes(info.memory_limit) + ", model and buffers " +
         format_bytes(info.memory_fixed) + ", KV " + format_bytes(info.kv_bytes_per_token) +
         "/token (" + info.kv_type + "): " +
         with_commas(static_cast<uint64_t>(std::max<int64_t>(info.memory_tokens, 0))) +
         " tokens fit; context " + with_commas(static_cast<uint64_t>(info.context_length)) +
         " tokens" + (info.weights_locked ? "; weights locked in memory" : "");
}

std::string flag_message(const tightfit::InvalidRequest& e) {
  // Request fields this command sets from a flag of another name.
  static const std::pair<std::string, std::string> flags[] = {
      {"max_image_pixels", "--max-pixels"}, {"max_tokens", "--max-tokens"},
      {"draft_tokens", "--draft"}};
  std::string message = e.what();
  for (const auto& [field, flag] : flags) {
    for (size_t at = message.find(field); at != std::string::npos;
         at = message.find(field, at + flag.size()))
      message.replace(at, field.size(), flag);
  }
  return message;
}

tightfit::Result stream_answer(tightfit::Engine& engine, tightfit::Request request,
                               PieceWriter& writer, const GenerationFlags& f) {
  tightfit::RequestHandle handle;
  try {
    handle = engine.submit(std::move(request));
  } catch (const tightfit::InvalidRequest& e) {
    throw BadInputError(flag_message(e));  // e.g. a prompt longer than the context
  } catch (const tightfit::OutOfMemory& e) {  // prompt + --max-tokens exceed --memory-limit
    throw BadInputError(e.what());
  }
  tightfit::Result result;
  for (;;) {
    if (InterruptScope::interrupted()) handle.cancel();
    std::optional<tightfit::Event> event = handle.next_for(std::chrono::milliseconds(50));
    if (!event) {
      if (handle.finished()) break;
      continue;
    }
    result.tokens.insert(result.tokens.end(), event->tokens.begin(), event->tokens.end());
    if (event->kind == tightfit::EventKind::done) {
      result.stop = event->stop;
      result.stop_string = event->stop_string;
      result.error = event->error;
      result.notice = event->notice;
      result.max_tokens = event->max_tokens;
      result.usage = event->usage;
      result.timing = event->timing;
      break;
    }
    const bool reasoning = event->kind == tightfit::EventKind::reasoning;
    (reasoning ? result.reasoning : result.text) += event->text;
    if (reasoning && f.hide_thinking) continue;
    writer.write({reasoning ? TextChannel::reasoning : TextChannel::answer, event->text});
  }
  if (result.stop == tightfit::StopReason::error) throw std::runtime_error(result.error);
  return result;
}

void print_answer_notices(const tightfit::Result& r, const GenerationFlags& f) {
  if (!r.notice.empty()) std::fprintf(stderr, "tightfit: %s\n", r.notice.c_str());
  const bool ended_in_reasoning = r.text.empty() && !r.reasoning.empty();
  if (f.hide_thinking && ended_in_reasoning) {
    const std::string why =
        r.stop == tightfit::StopReason::cancelled ? "it was interrupted"
        : r.stop == tightfit::StopReason::max_tokens
            ? "it reached the limit of " + std::to_string(r.max_tokens) + " tokens"
            : "it stopped";
    std::fprintf(stderr,
                 "tightfit: no answer to show: %s inside the reasoning, which --hide-thinking "
                 "hides (raise --max-tokens, or drop --hide-thinking to see the reasoning)\n",
                 why.c_str());
  }
}

std::string stats_line(const tightfit::Result& r) {
  GenerationStats s;
  s.prompt_tokens = r.usage.prompt_tokens - r.usage.cached_tokens;
  s.reused_tokens = r.usage.cached_tokens;
  s.prompt_seconds = r.timing.prompt_seconds;
  s.generated_tokens = r.usage.completion_tokens;
  s.generation_seconds = r.timing.generation_seconds;
  s.peak_rss_bytes = r.timing.peak_memory_bytes;
  s.images = r.usage.images;
  s.vision_seconds = r.timing.vision_seconds;
  const tightfit::SpeculativeUsage& spec = r.usage.speculative;
  s.speculative.steps = spec.steps;
  s.speculative.drafts_proposed = spec.drafts_proposed;
  s.speculative.drafts_accepted = spec.drafts_accepted;
  s.speculative.proposed_at = spec.proposed_at;
  s.speculative.accepted_at = spec.accepted_at;
  return format_stats(s);
}

std::string stop_name(tightfit::StopReason reason) {
  if (reason == tightfit::StopReason::cancelled) return "interrupted";
  std::string name = tightfit::to_string(reason);
  for (char& c : name)
    if (c == '_') c = ' ';
  return name;
}

}  // namespace tf::cli
