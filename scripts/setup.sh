#!/usr/bin/env bash
# Installs every Debian package tightfit needs to build, test and benchmark.
# Idempotent: when everything is present it only runs dpkg-query and exits.
set -euo pipefail

PACKAGES=(
  build-essential g++ cmake ninja-build pkg-config
  libhwy-dev            # Highway: portable SIMD with runtime dispatch
  nlohmann-json3-dev    # JSON (safetensors headers, configs, tokenizer, server)
  libcli11-dev          # command line parsing
  libgtest-dev googletest
  libbenchmark-dev      # Google Benchmark for bench/
  libpcre2-dev          # tokenizer pre-tokenizer regex (Unicode classes, lookahead)
  libicu-dev            # tokenizer Unicode normalization (NFC) and character properties
  libcpp-httplib-dev    # HTTP server / local test servers
  libcurl4-openssl-dev  # model download from the Hugging Face Hub
  libpng-dev libturbojpeg0-dev  # image decoding: PNG (libpng), JPEG (libjpeg-turbo)
  libstb-dev            # tests write PNG files with stb_image_write
  libedit-dev           # line editing and history at the chat prompt
  clang libclang-rt-dev  # the sanitizer build and libFuzzer targets (scripts/test-sanitizers.sh, tests/fuzz)
  nodejs                # the server's end-to-end tests run the official openai client (tests/node)
  # the Python module (python/) and its tests (tests/python)
  python3-dev pybind11-dev python3-pybind11 python3-numpy python3-pytest python3-pil
  # ARM64 cross-build of the engine's core, tested under qemu (scripts/test-aarch64.sh)
  g++-aarch64-linux-gnu qemu-user-static libhwy-dev:arm64 libgtest-dev:arm64 libpcre2-dev:arm64
  # tools/reference and tools/train (PyTorch reference, tokenizer and model training; never at run time)
  python3-torch python3-numpy python3-regex
  libopenblas0-pthread  # a fast BLAS for python3-torch (Debian's default reference BLAS is ~20x slower)
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup.sh: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # The arm64 libraries come from Debian's multiarch archive.
  if ! dpkg --print-foreign-architectures | grep -qx arm64; then $SUDO dpkg --add-architecture arm64; fi
  $SUDO apt-get update -q || true
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# The openai npm client for tests/node (pinned in its package-lock.json), once: the only thing
# fetched from a registry other than Debian's, and only for that test client. Debian's npm
# package is installed only when the nodejs in use brought no npm of its own.
TESTS_NODE="$(cd "$(dirname "$0")/.." && pwd)/tests/node"
if [ ! -d "$TESTS_NODE/node_modules/openai" ]; then
  if ! command -v npm >/dev/null; then $SUDO apt-get install -y -q --no-install-recommends npm; fi
  (cd "$TESTS_NODE" && npm ci --no-audit --no-fund)
fi
