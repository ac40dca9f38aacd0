// What a checkpoint holds — architecture, layout, dimensions, parameters, bytes and bits per
// weight per tensor role — for programs (the Python module's tightfit.inspect); the same facts
// `tightfit inspect --json` prints. Reads only config.json and the safetensors headers.
#pragma once

#include <string>

#include "tightfit/tightfit.h"

namespace tightfit {

// `path`: a model folder, one .safetensors file, or a Hugging Face repo id (from the local
// cache, downloaded when missing unless `offline`). Returns the description as JSON text.
// Throws ModelNotFound, InvalidRequest, std::runtime_error (unreadable or corrupt files).
std::string inspect(const std::string& path, bool offline = false);

}  // namespace tightfit
