#include "engine/prepared_request.h"

#include <algorithm>

#include "engine/chat_template_input.h"
#include "runtime/generator.h"
#include "runtime/memory_plan.h"
#include "runtime/multimodal_prompt.h"
#include "runtime/reasoning_split.h"

namespace tightfit {

namespace {

const char* prompt_field(const Request& r) {
  return !r.messages.empty() ? "messages" : !r.prompt.empty() ? "prompt" : "prompt_tokens";
}

void check_prompt_form(const Request& r) {
  const int forms = !r.messages.empty() + !r.prompt.empty() + !r.prompt_tokens.empty();
  if (forms == 0)
    throw InvalidRequest("the request has no prompt: give messages, prompt or prompt_tokens",
                         "messages");
  if (forms > 1)
    throw InvalidRequest("give exactly one of messages, prompt and prompt_tokens", "prompt");
  if (r.messages.empty()) {
    if (!r.tools.empty()) throw InvalidRequest("tools need messages (the chat template)", "tools");
    if (r.enable_thinking)
      throw InvalidRequest("enable_thinking needs messages (the chat template)", "enable_thinking");
    if (!r.template_kwargs.empty())
      throw InvalidRequest("template_kwargs need messages (the chat template)", "template_kwargs");
  } else if (!r.images.empty()) {
    throw InvalidRequest("images: with messages, images are content parts of a message",
                         "images");
  }
}

tf::RgbImage decode(const Image& image, const std::string& param) {
  try {
    if (!image.path.empty()) return tf::load_image_file(image.path);
    if (!image.encoded.empty()) return tf::decode_image(image.encoded, param);
  } catch (const std::exception& e) {
    throw InvalidRequest(param + ": " + e.what(), param);
  }
  const size_t expected = static_cast<size_t>(std::max(image.width, 0)) *
                          static_cast<size_t>(std::max(image.height, 0)) * 3;
  if (image.width <= 0 || image.height <= 0 || image.rgb.size() != expected)
    throw InvalidRequest(param + ": give a path, encoded PNG/JPEG bytes, or width × height × 3 "
                                 "RGB bytes (got " + std::to_string(image.rgb.size()) +
                             " bytes for " + std::to_string(image.width) + "×" +
                             std::to_string(image.height) + ")",
                         param);
  tf::RgbImage rgb;
  rgb.width = image.width;
  rgb.height = image.height;
  rgb.pixels = image.rgb;
  return rgb;
}

void add_image(const EngineContext& context, const Image& image, const std::string& param,
               PreparedRequest& p) {
  if (!context.loaded.image_processor)
    throw InvalidRequest(param + ": " + context.loaded.source.dir.string() +
                             " is a text-only model (no vision tower" +
                             (context.model().vision_error().empty()
                                  ? std::string()
                                  : ": " + context.model().vision_error()) +
                             "): it cannot take images",
                         param);
  p.images.push_back(decode(image, param));
}

// Images in message order; their token counts (cheap: no resampling) size the prompt.
void add_images(const EngineContext& context, const Request& r, PreparedRequest& p) {
  for (size_t i = 0; i < r.messages.size(); ++i) {
    const std::vector<ContentPart>& parts = r.messages[i].content;
    for (size_t j = 0; j < parts.size(); ++j) {
      if (parts[j].kind != ContentPart::Kind::image) continue;
      add_image(context, parts[j].image,
                "messages[" + std::to_string(i) + "].content[" + std::to_string(j) + "].image", p);
    }
  }
  for (size_t i = 0; i < r.images.size(); ++i)
    add_image(context, r.images[i], "images[" + std::to_string(i) + "]", p);
  if (p.images.empty()) return;
  const int32_t placeholder = static_cast<int32_t>(context.model().config().image_token_id);
  const size_t placeholders = static_cast<size_t>(std::count(p.ids.begin(), p.ids.end(), placeholder));
  if (placeholders != p.images.size())
    throw InvalidRequest("the prompt has " + std::to_string(placeholders) +
                             " image placeholders (<|image_pad|>) for " +
                             std::to_string(p.images.size()) + " images: give one per image",
                         r.messages.empty() ? "images" : "messages");
  p.image_config = *context.loaded.image_processor;
  if (r.max_image_pixels < 0)
    throw InvalidRequest("max_image_pixels must be >= 0 (0 = the model's limit)",
                         "max_image_pixels");
  if (r.max_image_pixels > 0) {
    const int64_t block = p.image_config.factor() * p.image_config.factor();  // one token
    if (r.max_image_pixels < block)
      throw InvalidRequest("max_image_pixels must be at least " + std::to_string(block) +
                               " (one " + std::to_string(p.image_config.factor()) + "×" +
                               std::to_string(p.image_config.factor()) +
                               " block) for this model",
                           "max_image_pixels");
    p.image_config.max_pixels = std::min(p.image_config.max_pixels, r.max_image_pixels);
  }
  p.image_config.min_pixels = std::min(p.image_config.min_pixels, p.image_config.max_pixels);
  std::string each;  // the images' token counts, for the message when they do not fit
  for (size_t i = 0; i < p.images.size(); ++i) {
    try {
      const int64_t tokens = tf::image_token_count(context.model(), p.image_config, p.images[i]);
      p.prompt_tokens += tokens - 1;
      each += (each.empty() ? "" : ", ") + std::to_string(tokens);
    } catch (const std::exception& e) {
      const std::string name = r.messages.empty() && !r.images[i].path.empty()
                                   ? r.images[i].path
                                   : "image " + std::to_string(i + 1);
      throw InvalidRequest(name + ": " + e.what(), r.messages.empty() ? "images" : "messages");
    }
  }
  // A context cut to what fits the memory limit: a prompt past it is a memory refusal, with
  // the plan's numbers.
  if (context.context_from_memory && p.prompt_tokens >= context.context)
    context.plan.check_tokens(p.prompt_tokens + 1);
  if (p.prompt_tokens >= context.context)
    throw InvalidRequest("the prompt with its images has " + std::to_string(p.prompt_tokens) +
                             " tokens (images: " + each + ") and fills the context of " +
                             std::to_string(context.context) +
                             " tokens: give a smaller max_image_pixels (the image tokens shrink "
                             "with the pixel count) or fewer images",
                         "max_image_pixels");
}

// After the last "<|im_start|>assistant\n" (chat_session.h explains why there).
size_t stable_point(const EngineContext& context, const Request& r, const std::string& text,
                    const std::vector<int32_t>& ids) {
  const std::string history = render_messages(context, r, false);
  if (text.compare(0, history.size(), history) != 0) return 0;
  size_t cut = text.find('\n', history.size());
  cut = cut == std::string::npos ? history.size() : cut + 1;
  for (size_t end : {cut, history.size()}) {
    const std::vector<int32_t> head = context.tokenizer().encode(text.substr(0, end));
    if (head.size() < ids.size() && std::equal(head.begin(), head.end(), ids.begin()))
      return head.size();
  }
  return 0;
}

tf::SamplerConfig sampler_config(const EngineContext& context, const SamplingParams& s) {
  tf::SamplerOverrides o;
  o.temperature = s.temperature;
  o.top_p = s.top_p;
  o.top_k = s.top_k;
  o.min_p = s.min_p;
  o.presence_penalty = s.presence_penalty;
  o.frequency_penalty = s.frequency_penalty;
  o.repetition_penalty = s.repetition_penalty;
  o.repetition_context_size = s.repetition_context_size;
  o.seed = s.seed;
  o.logit_bias = s.logit_bias;
  tf::SamplerConfig config = tf::apply_overrides(context.loaded.defaults.sampler, o);
  as_api_errors("sampling", [&] { tf::validate(config); });
  for (const auto& [id, bias] : config.logit_bias)
    if (id < 0 || id >= context.sampled_vocab)
      throw InvalidRequest("sampling.logit_bias: token id " + std::to_string(id) +
                               " is outside the vocabulary (0.." +
                               std::to_string(context.sampled_vocab - 1) + ")",
                           "sampling.logit_bias");
  return config;
}

// The drafts per step the request runs with (docs/engine.md "Speculative decoding"): the
// request's or the engine's. Images, constrained output and a thinking budget speculate too.
int draft_tokens(const EngineContext& context, const Request& r) {
  if (r.draft_tokens && *r.draft_tokens < 0)
    throw InvalidRequest("draft_tokens must be >= 0 (0 = off)", "draft_tokens");
  if (r.draft_tokens && *r.draft_tokens > kMaxDraftTokens)
    throw InvalidRequest("draft_tokens must be at most " + std::to_string(kMaxDraftTokens) +
                             ", got " + std::to_string(*r.draft_tokens),
                         "draft_tokens");
  const int k = r.draft_tokens ? *r.draft_tokens : std::max(0, context.options.draft_tokens);
  if (k == 0) return 0;
  if (!context.model().mtp())  // only a request can get here: Engine::load checks its option
    throw InvalidRequest("draft_tokens: the model has no multi-token-prediction head (mtp.*); "
                         "convert it with --keep-mtp, or set draft_tokens to 0",
                         "draft_tokens");
  return k;
}

// KV tokens a speculating request reserves beyond its own (docs/engine.md "Memory"): what the
// engine's plan did not count of the MTP head's KV cache (for its `kv_tokens`) and of a
// sequence's verify and draft buffers — the plan counts both at EngineOptions::draft_tokens —
// in tokens of the plan's KV, so that the budget holds the request's whole memory.
int64_t speculation_tokens(const EngineContext& context, int drafts, int64_t kv_tokens) {
  const MemoryPlan& plan = context.plan;
  if (drafts <= plan.draft_tokens || plan.kv_bytes_per_token == 0) return 0;
  const tf::TextConfig& c = context.model().text();
  const int64_t chunk = std::min<int64_t>(context.options.prefill_chunk, context.context);
  uint64_t bytes = tf::speculative_bytes_per_sequence(c, drafts, chunk) -
                   std::min(plan.speculative_bytes_per_sequence,
                            tf::speculative_bytes_per_sequence(c, drafts, chunk));
  if (plan.mtp_kv_bytes_per_token == 0)
    bytes += tf::mtp_kv_bytes_per_token(c, context.kv_type, context.kv_group_size) *
             static_cast<uint64_t>(kv_tokens);
  return static_cast<int64_t>((bytes + plan.kv_bytes_per_token - 1) / plan.kv_bytes_per_token);
}

}  // namespace

std::string render_messages(const EngineContext& context, const Request& request,
                            bool add_generation_prompt) {
  return render_chat_template(context.loaded.tokenizer->config,
                              chat_template_input(request, add_generation_prompt));
}

PreparedRequest prepare_request(const EngineContext& context, const Request& r) {
  check_prompt_form(r);
  PreparedRequest p;
  p.submitted = Clock::now();
  const char* field = prompt_field(r);
  if (!r.messages.empty()) {
    const std::string text = render_messages(context, r, true);
    p.ids = context.tokenizer().encode(text);
    p.starts_in_reasoning = tf::prompt_opens_reasoning(text);
    p.stable_point = stable_point(context, r, text, p.ids);
  } else if (!r.prompt.empty()) {
    p.ids = context.tokenizer().encode(r.prompt);
    p.starts_in_reasoning = tf::prompt_opens_reasoning(r.prompt);
  } else {
    p.ids = r.prompt_tokens;
    as_api_errors("prompt_tokens", [&] { context.model().check_tokens(p.ids); });
    p.starts_in_reasoning =
        tf::prompt_opens_reasoning(context.tokenizer().decode(p.ids, false));
  }
  if (p.ids.empty()) throw InvalidRequest("the prompt is empty: nothing to generate from", field);
  p.prompt_tokens = static_cast<int64_t>(p.ids.size());
  add_images(context, r, p);
  // A context cut to what fits the memory limit: a prompt past it is a memory refusal, with
  // the plan's numbers.
  if (context.context_from_memory && p.prompt_tokens >= context.context)
    context.plan.check_tokens(p.prompt_tokens + 1);
  if (p.prompt_tokens >= context.context)
    throw InvalidRequest("the prompt has " + std::to_string(p.prompt_tokens) +
                             " tokens and fills the context of " +
                             std::to_string(context.context) +
                             " tokens: shorten it",
                         field);

  p.sampler = sampler_config(context, r.sampling);
  if (r.max_tokens && *r.max_tokens <= 0)
    throw InvalidRequest("max_tokens must be a positive number, got " +
                             std::to_string(*r.max_tokens),
                         "max_tokens");
  // An explicit budget is not cut to the room left, so running out of context is reported as
  // such (context_full); the default never runs past the context or what the memory limit
  // holds (issue 14: a request left at the defaults is never refused for memory).
  p.stop.max_tokens =
      r.max_tokens ? *r.max_tokens
                   : tf::default_max_tokens(std::nullopt, context.loaded.defaults.max_new_tokens,
                                            std::min(context.context, context.memory_tokens),
                                            p.prompt_tokens);
  p.kv_tokens = std::min<int64_t>(context.context, p.prompt_tokens + p.stop.max_tokens);
  for (const std::string& s : r.stop)
    if (s.empty()) throw InvalidRequest("stop: a stop string cannot be empty", "stop");
  p.stop.stop_strings = r.stop;
  if (!r.ignore_eos) p.stop.eos_token_ids = context.eos_token_ids;
  p.stop.loop_guard.enabled = r.loop_guard;
  if (r.thinking_budget && *r.thinking_budget < 0)
    throw InvalidRequest("thinking_budget must be >= 0", "thinking_budget");
  p.thinking_budget = r.thinking_budget;
  p.constraint = make_output_constraint(context, r);
  if (r.logprobs < -1 || r.logprobs > kMaxTopLogprobs)
    throw InvalidRequest("logprobs must be -1 (none), 0 (the chosen token's) or up to " +
                             std::to_string(kMaxTopLogprobs) + " alternatives",
                         "logprobs");
  p.logprobs = r.logprobs;
  p.draft_tokens = draft_tokens(context, r);
  p.kv_tokens = std::min<int64_t>(context.context, p.kv_tokens + p.draft_tokens);
  p.kv_tokens += speculation_tokens(context, p.draft_tokens, p.kv_tokens);
  p.use_prompt_cache = r.use_prompt_cache;
  return p;
}

}  // namespace tightfit
