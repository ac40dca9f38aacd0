// The names of the files in a model folder that tightfit writes (convert, synth): config.json,
// the safetensors shards and their index, and the auxiliary files convert copies from its input.
// One list, used both to copy (converter.cpp) and to decide that a folder is a previous output
// that --force may replace (output_folder.cpp).
#pragma once

#include <string>

namespace tf {

// Files a model folder carries besides weights and config.json that a converted model needs:
// tokenizer, chat template, generation defaults, image/video processor settings, license.
bool is_auxiliary_file(const std::string& name);

// The image/video processor settings among them (not copied when no vision tower is written).
bool is_vision_processor_file(const std::string& name);

// `model.safetensors`, `model-00001-of-00003.safetensors` (the names the sharded writer gives)
// or `model.safetensors.index.json`.
bool is_shard_file(const std::string& name);

// config.json, a shard file or an auxiliary file: a name tightfit may have written.
bool is_model_file_tightfit_writes(const std::string& name);

}  // namespace tf
