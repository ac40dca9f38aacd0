// What `inspect` reports about a checkpoint beyond its tensor summary: the evidence for its
// layout flavour (spec §2.8), and the whole description as JSON — shared by `tightfit inspect
// --json` and the public tightfit::inspect (include/tightfit/inspect.h).
#pragma once

#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "quant/model_summary.h"
#include "storage/model_config.h"
#include "storage/safetensors.h"
#include "storage/tensor_names.h"

namespace tf {

// Evidence for the layout flavour, as spec §2.8 lists it.
struct LayoutEvidence {
  CheckpointFlavour flavour = CheckpointFlavour::Unknown;
  std::string experts;  // "fused experts", "per-expert tensors", "stacked switch_mlp experts", ""
  std::string conv1d;   // shape of the first conv1d weight
  std::string format;   // __metadata__.format of the first file
};

LayoutEvidence layout_evidence(const Checkpoint& ck);

// A checkpoint read for description: headers and config.json only, never the weights.
struct CheckpointDescription {
  std::unique_ptr<Checkpoint> checkpoint;
  std::optional<ModelConfig> config;  // absent when the folder has no config.json
  ModelSummary summary;
  LayoutEvidence layout;
};
// `path`: a model folder or one .safetensors file.
CheckpointDescription describe_checkpoint(const std::string& path);

// {"path": named, "files", "tensors", "size_on_disk", "layout", "experts", "conv1d_shape",
//  "metadata_format", "summary": summary_to_json, "config": {...} or null}
nlohmann::json describe_checkpoint_json(const std::string& named, const Checkpoint& ck,
                                        const ModelConfig* config, const ModelSummary& s,
                                        const LayoutEvidence& e);
nlohmann::json describe_checkpoint_json(const std::string& named, const CheckpointDescription& d);

}  // namespace tf
