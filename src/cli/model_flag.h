// The one way every subcommand turns the flag that names a model (--model, convert's --hf,
// inspect's PATH) into a folder: a local folder, or a Hugging Face repo id ("org/name[@rev]")
// from the local cache or downloaded into it (runtime/model_resolver.h). A name that does not
// resolve is one error line, the same in every subcommand, exit code 2 (tf::ModelNotFoundError
// is a tf::InputError).
#pragma once

#include <string>

#include "runtime/model_resolver.h"

namespace tf::cli {

// Download progress goes to stderr (a bar on a terminal, plain lines otherwise).
ResolvedModel resolve_model_flag(const std::string& spec, const std::string& flag = "--model");

// The help text of such a flag.
inline constexpr const char* kModelFlagHelp =
    "Model folder, or a Hugging Face repo id (org/name[@revision]) taken from the local cache or "
    "downloaded";

}  // namespace tf::cli
