// What the user named cannot be used: a model folder or repo that does not exist, an output
// folder that holds the input or files tightfit did not write, a recipe rule that decides
// nothing, a token id outside the vocabulary. The library layers throw it so the CLI can tell
// bad input (exit code 2, like a usage error, but without "(see --help)": the help would not
// say more) from a failure of the work itself (exit code 1). Unreadable or corrupt model files
// are failures, not bad input: nothing on the command line would fix them.
#pragma once

#include <stdexcept>

namespace tf {

struct InputError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace tf
