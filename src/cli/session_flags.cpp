#include "cli/session_flags.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <stdexcept>

#include "cli/commands.h"
#include "cli/interrupt.h"
#include "cli/model_flag.h"

namespace tf::cli {

KVType kv_cache_type(const std::string& name) {
  try {
    return parse_kv_type(name);
  } catch (const std::invalid_argument& e) {
    throw UsageError(std::string("--kv-cache: ") + e.what());
  }
}

SessionOptions session_options(const GenerationFlags& f) {
  SessionOptions o;
  o.kv_type = kv_cache_type(f.kv_cache);
  return o;
}

LoadedModel load_model(const GenerationFlags& f, bool vision) {
  ResolvedModel source = resolve_model_flag(f.model);
  SigintBlockForNewThreads block;  // the worker threads must leave Ctrl-C to the main thread
  try {
    return LoadedModel::load(std::move(source), f.threads, ModelLoadOptions{.vision = vision});
  } catch (const ModelNotFoundError& e) {  // a folder without tokenizer.json
    throw ModelNotFoundError("--model " + f.model + ": " + e.what());
  }
}

void print_settings(const LoadedModel& m, const GenerationParams& p) {
  const SamplerConfig& s = p.sampler;
  std::fprintf(stderr, "model: %s (%d layers, vocab %lld, %d threads)\n",
               m.source.dir.string().c_str(), m.model->text().num_hidden_layers,
               static_cast<long long>(m.model->vocab_size()), m.model->pool().num_threads());
  std::fprintf(stderr,
               "sampling: temp %g, top_p %g, top_k %d, min_p %g, repetition_penalty %g, "
               "presence %g, frequency %g%s\n",
               s.temperature, s.top_p, s.top_k, s.min_p, s.repetition_penalty,
               s.presence_penalty, s.frequency_penalty,
               s.seed ? (", seed " + std::to_string(*s.seed)).c_str() : "");
}

void print_result_notices(const GenerationResult& r, const GenerationFlags& f) {
  if (!r.notice.empty()) std::fprintf(stderr, "tightfit: %s\n", r.notice.c_str());
  if (f.hide_thinking && r.ended_in_reasoning && r.answer.empty()) {
    const std::string why = r.cancelled ? "it was interrupted"
                            : r.stop == StopReason::max_tokens
                                ? "it reached the limit of " + std::to_string(r.max_tokens) + " tokens"
                                : "it stopped";
    std::fprintf(stderr,
                 "tightfit: no answer to show: %s inside the reasoning, which --hide-thinking "
                 "hides (raise --max-tokens, or drop --hide-thinking to see the reasoning)\n",
                 why.c_str());
  }
}

GenerationParams generation_params(const GenerationFlags& f, const LoadedModel& m) {
  GenerationParams p;
  SamplerOverrides overrides = f.sampling;
  try {
    if (!f.logit_bias.empty()) overrides.logit_bias = parse_logit_bias(f.logit_bias);
    p.sampler = apply_overrides(m.defaults.sampler, overrides);
    validate(p.sampler);
  } catch (const std::invalid_argument& e) {
    throw UsageError(e.what());
  }
  const int64_t vocab = m.model->vocab_size();
  for (const auto& [id, bias] : p.sampler.logit_bias)
    if (id < 0 || id >= vocab)
      throw BadInputError("--logit-bias: token id " + std::to_string(id) +
                          " is outside the vocabulary (0.." + std::to_string(vocab - 1) + ")");
  if (f.max_tokens && *f.max_tokens <= 0)
    throw UsageError("--max-tokens must be a positive number, got " +
                     std::to_string(*f.max_tokens));
  for (const std::string& s : f.stop)
    if (s.empty()) throw UsageError("--stop: a stop string cannot be empty");
  p.max_tokens = f.max_tokens;
  p.model_max_tokens = m.defaults.max_new_tokens;
  p.eos_token_ids = m.eos_token_ids();
  p.stop_strings = f.stop;
  p.loop_guard.enabled = !f.no_loop_guard;
  p.show_reasoning = !f.hide_thinking;
  return p;
}

ImagePreprocessorConfig processor_config(const ImageFlags& f, const LoadedModel& m) {
  ImagePreprocessorConfig c = *m.image_processor;
  if (f.max_pixels) {
    const int64_t smallest = c.factor() * c.factor();  // one merged token
    if (*f.max_pixels < smallest)
      throw UsageError("--max-pixels must be at least " + std::to_string(smallest) +
                       " (one " + std::to_string(c.factor()) + "×" + std::to_string(c.factor()) +
                       " block) for this model");
    c.max_pixels = std::min(c.max_pixels, *f.max_pixels);
    c.min_pixels = std::min(c.min_pixels, c.max_pixels);
  }
  return c;
}

EncodedImages encode_images(const LoadedModel& m, const ImageFlags& flags,
                            const std::vector<RgbImage>& images, int64_t text_tokens) {
  EncodedImages out;
  if (images.empty()) return out;
  if (!m.model->has_vision() || !m.image_processor)
    throw BadInputError("--image: " + m.source.dir.string() +
                        " is a text-only model (no vision tower): drop --image");
  const ImagePreprocessorConfig config = processor_config(flags, m);
  std::vector<int64_t> tokens;
  try {
    for (size_t i = 0; i < images.size(); ++i) {
      try {
        tokens.push_back(image_token_count(*m.model, config, images[i]));
      } catch (const std::invalid_argument& e) {
        throw std::invalid_argument(flags.files[i] + ": " + e.what());
      }
    }
    check_image_prompt_fits(*m.model, text_tokens, tokens);
  } catch (const std::invalid_argument& e) {
    throw BadInputError(std::string("--image: ") + e.what());
  }
  const auto start = std::chrono::steady_clock::now();
  for (const RgbImage& image : images) out.features.push_back(encode_image(*m.model, config, image));
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return out;
}

}  // namespace tf::cli
