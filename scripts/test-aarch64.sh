#!/usr/bin/env bash
# Cross-builds the engine's core for 64-bit ARM and runs its kernel tests and the fixture-logits
# test under qemu-user (-cpu max, so the sdot paths run). Only correctness can be checked this
# way: qemu's speed says nothing about a real ARM CPU. Needs the packages scripts/setup.sh
# installs (g++-aarch64-linux-gnu, qemu-user-static, the arm64 Highway / GoogleTest libraries).
# Usage: scripts/test-aarch64.sh [BUILD_DIR]   (default: build-aarch64)
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build-aarch64}"
launcher=()
if command -v ccache > /dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
fi
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_TOOLCHAIN_FILE="$PWD/cmake/aarch64-linux-gnu.cmake" \
  -DTIGHTFIT_CORE_ONLY=ON -DTIGHTFIT_BUILD_BENCH=OFF "${launcher[@]}" > /dev/null
cmake --build "$build" --target test_kernels test_model
# The kernel tests, and one end-to-end model test: the fixture's logits against llama.cpp's.
kernel_suites='AttendGroup|KVConversions|Lengths/DeltaRule|Shapes/DeltaRuleSimd|Linear|LinearInt8|LinearQ8Tiles|Ops|ThreadPool'
ctest --test-dir "$build" --output-on-failure -j2 -R "^(${kernel_suites})\.|FixtureLogits\."
