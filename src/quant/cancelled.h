// Thrown by the long writers (convert, synth) when asked to stop: the CLI's signal flag, set by
// Ctrl-C or SIGTERM, is checked between slabs. Unwinding removes the unfinished output
// (quant/output_folder.h); the CLI prints the message and exits 130, as a shell does for SIGINT.
#pragma once

#include <stdexcept>

namespace tf {

struct Cancelled : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace tf
