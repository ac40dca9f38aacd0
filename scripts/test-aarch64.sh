#!/usr/bin/env bash
# Cross-builds the engine's core for 64-bit ARM and runs the kernel and model tests (among them
# the tiny fixture's logits against llama.cpp's) under qemu-user (-cpu max, so the sdot and
# i8mm paths run). Only correctness can be checked this way:
# qemu's speed says nothing about a real ARM CPU. Needs the packages scripts/setup.sh
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
# Every kernel test (each ARM Int8 row and tile variant called directly against the scalar
# reference, the thread pool, matmul through the pool, attention, the delta rule, the
# element-wise ops) and the model tests that run those kernels in whole forward passes — the
# fixture logits against llama.cpp's, quantized models, Int8 batches, quantized KV caches,
# attention at depth, rewind (tests/CMakeLists.txt lists them; the rest of tests/model is model
# logic, the same on every CPU, and runs in the native build).
# The emulator (the toolchain file's CMAKE_CROSSCOMPILING_EMULATOR) runs them against the arm64
# multiarch glibc; cmake/aarch64-linux-gnu.cmake says why not the cross package's.
ctest --test-dir "$build" --output-on-failure -j2 --timeout 600 -L '^kernels$'
ctest --test-dir "$build" --output-on-failure -j2 --timeout 600 -L '^model$'
