// libFuzzer's entry point for one target, chosen at compile time (TIGHTFIT_FUZZ_TARGET, set by
// tests/CMakeLists.txt for each fuzz_<name> program when TIGHTFIT_FUZZ is ON). Empty otherwise,
// so the ordinary test build, which compiles every file of tests/fuzz, is unaffected.
#ifdef TIGHTFIT_FUZZ_TARGET
#include "fuzz/fuzz_targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  tf::fuzz::TIGHTFIT_FUZZ_TARGET(data, size);
  return 0;
}
#endif
