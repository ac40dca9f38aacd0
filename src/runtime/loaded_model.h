// Everything a generation command needs from `--model`, resolved and loaded in one call: the
// folder (local or from the Hugging Face cache / Hub), the weights, the tokenizer with its chat
// template, and the generation_config.json defaults.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "model/model.h"
#include "runtime/image_preprocessor.h"
#include "runtime/model_resolver.h"
#include "runtime/sampler_config.h"
#include "tokenizer/tokenizer_config.h"

namespace tf {

struct LoadedModel {
  ResolvedModel source;
  std::unique_ptr<Model> model;
  std::unique_ptr<tokenizer::ModelTokenizer> tokenizer;
  GenerationDefaults defaults;
  // preprocessor_config.json, when the model has a vision tower (images can be given).
  std::optional<ImagePreprocessorConfig> image_processor;

  // Resolves `spec` (model_resolver.h) and loads it with `threads` workers (0 = all cores).
  // Throws ModelNotFoundError when the folder / repo does not exist or has no tokenizer.json
  // (generation needs one), other exceptions naming the file for broken contents.
  // `model_options.vision` false skips the vision tower (a text-only run of a VL model).
  static LoadedModel load(std::string_view spec, int threads, const HubSettings& settings,
                          const DownloadOptions& options, ModelLoadOptions model_options = {});
  // The same for a folder already resolved (the CLI resolves first, so a Ctrl-C can stop a
  // download, then loads with SIGINT blocked while the worker threads start).
  static LoadedModel load(ResolvedModel source, int threads, ModelLoadOptions model_options = {});

  // Ids that end a turn: generation_config.json's eos_token_id, config.json's text
  // eos_token_id and the tokenizer config's eos_token, without duplicates, in that order.
  std::vector<int32_t> eos_token_ids() const;
};

}  // namespace tf
