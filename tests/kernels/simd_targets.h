// Test helper: run a check once per SIMD target this CPU supports, so every Highway code path
// (AVX3_DL, AVX3, AVX2, SSE4 here; NEON on ARM) is compared with the scalar reference, not
// only the one dispatch would pick.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>

#include "hwy/targets.h"

namespace tf::test {

// Runs `body` once per supported target (forcing Highway's dispatch), then restores dispatch.
template <class F>
void for_each_target(F&& body) {
  const int64_t supported = hwy::SupportedTargets();
  for (int64_t bits = supported; bits != 0; bits &= bits - 1) {
    const int64_t target = bits & ~(bits - 1);
    hwy::SetSupportedTargetsForTest(target);
    SCOPED_TRACE(hwy::TargetName(target));
    body();
  }
  hwy::SetSupportedTargetsForTest(0);
}

}  // namespace tf::test
