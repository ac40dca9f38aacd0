// What `chat`, `bench` and `logits` take from the generation flags while they still drive the
// model layer themselves (a Session) rather than the public API (cli/engine_flags.h): the
// loaded model, runtime generation settings, session options and encoded images.
#pragma once

#include <vector>

#include "cli/generation_flags.h"
#include "model/session.h"
#include "runtime/generator.h"
#include "runtime/image_preprocessor.h"
#include "runtime/loaded_model.h"
#include "runtime/multimodal_prompt.h"

namespace tf::cli {

// Resolves and loads --model (cli/model_flag.h); a missing model or one without a tokenizer is
// a ModelNotFoundError (bad input, exit code 2).
// The model's worker threads start with SIGINT blocked (see interrupt.h).
// vision: bind the vision tower when the model has one (false for a text-only run).
LoadedModel load_model(const GenerationFlags& flags, bool vision = true);

// Sampling defaults from generation_config.json overridden by the flags, EOS ids, stops, the
// max-token budget. Bad values are UsageErrors naming the flag.
GenerationParams generation_params(const GenerationFlags& flags, const LoadedModel& model);

// Session settings from the flags (--kv-cache).
SessionOptions session_options(const GenerationFlags& flags);

// The --kv-cache name as a type (a UsageError naming the flag when it is none of f16 | bf16 | f32).
KVType kv_cache_type(const std::string& name);

// --verbose: the model (folder, layers, vocabulary, threads) and the sampling settings, on stderr.
void print_settings(const LoadedModel& model, const GenerationParams& params);

// The notices after an answer, on stderr: the loop guard's, and with --hide-thinking an answer
// that ended inside the reasoning (nothing was printed: say why instead of leaving silence).
void print_result_notices(const GenerationResult& result, const GenerationFlags& flags);

// The model's processor settings (preprocessor_config.json) with --max-pixels applied; the
// model must have a vision tower.
ImagePreprocessorConfig processor_config(const ImageFlags& flags, const LoadedModel& model);

struct EncodedImages {
  std::vector<ImageFeatures> features;
  double seconds = 0;  // in the vision tower
};

// Checks that `text_tokens` (one placeholder per image) plus the images' tokens fit the
// context — from the resized sizes, before any vision work — then encodes the images. Bad
// input (a text-only model, an image the processor rejects, a prompt too long) is a
// BadInputError naming the file. `images` are read_images(flags).
EncodedImages encode_images(const LoadedModel& model, const ImageFlags& flags,
                            const std::vector<RgbImage>& images, int64_t text_tokens);

}  // namespace tf::cli
