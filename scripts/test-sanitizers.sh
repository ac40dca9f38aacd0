#!/usr/bin/env bash
# Builds tightfit with clang, AddressSanitizer and UndefinedBehaviorSanitizer (the fuzz build,
# -DTIGHTFIT_FUZZ=ON), runs the unit tests of the layers that parse untrusted input under the
# sanitizers, then each libFuzzer target for a short time from its seed corpus. CI runs it through
# ctest (Sanitizers.UnitTestsAndFuzzSmoke); README "Reliability" says how to fuzz longer.
# Usage: scripts/test-sanitizers.sh [BUILD_DIR] [SECONDS_PER_FUZZ_TARGET]
#   defaults: build-asan, 20 (FUZZ_SECONDS in the environment also sets it)
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build-asan}"
seconds="${2:-${FUZZ_SECONDS:-20}}"
start=$SECONDS
launcher=()
if command -v ccache > /dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
fi
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_C_COMPILER=clang -DTIGHTFIT_FUZZ=ON \
  -DTIGHTFIT_BUILD_BENCH=OFF -DTIGHTFIT_PYTHON=OFF "${launcher[@]}" > /dev/null

# The unit tests run under the sanitizers: base (JSON, regex), storage (safetensors, config),
# tokenizer (tokenizer.json, Jinja) and test_parsers (recipes, images, the server's request and
# tool-call parsers, and the regression corpus of every fuzz target). Only the parsers are built,
# not the kernels, model and engine (tests/CMakeLists.txt, tf_parsers).
test_programs=(test_base test_storage test_tokenizer test_parsers)
fuzz_targets=(safetensors_header model_config tokenizer_json chat_template recipe image server_request tool_calls)
targets=("${test_programs[@]}")
for t in "${fuzz_targets[@]}"; do targets+=("fuzz_$t"); done
cmake --build "$build" --target "${targets[@]}"
echo "== built in $((SECONDS - start)) s"

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:allocator_may_return_null=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
for program in "${test_programs[@]}"; do
  echo "== $program under ASan + UBSan"
  "$build/tests/$program" --gtest_brief=1
done
echo "== unit tests passed at $((SECONDS - start)) s"

# Seeds: each target's regression corpus and, for some, small real files from tests/data; new
# inputs libFuzzer writes go to a scratch folder, never into the repository.
seeds_for() {
  case "$1" in
    chat_template) echo "tests/data/jinja/templates tests/data/chat-template" ;;
    model_config) echo "tests/data/configs" ;;
    image) echo "tests/data/image-resize tests/data/image-decode" ;;
    *) echo "" ;;
  esac
}
# The longest input worth trying: a little above the largest real seed (a chat template of 8 KB
# plus its variables, a config of 3 KB, the 4 KB seed tokenizer); longer only slows the runs.
max_len_for() {
  case "$1" in
    chat_template | image) echo 16384 ;;
    model_config | tokenizer_json) echo 8192 ;;
    *) echo 4096 ;;
  esac
}
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
# A failing input is kept in BUILD_DIR/fuzz-findings/<target>/ (crash-*, timeout-*, oom-*).
findings="$build/fuzz-findings"
rm -rf "$findings"
# Runs one target for the given seconds; its log in $scratch/<target>.log, its status returned.
fuzz_one() {
  local t="$1" status=0
  mkdir -p "$scratch/$t" "$findings/$t"
  # shellcheck disable=SC2046
  "$build/tests/fuzz_$t" -max_total_time="$seconds" -timeout=30 -rss_limit_mb=3072 -max_len="$(max_len_for "$t")" \
    -artifact_prefix="$findings/$t/" -print_final_stats=1 "$scratch/$t" "tests/fuzz/corpus/$t" \
    $(seeds_for "$t") > "$scratch/$t.log" 2>&1 || status=$?
  return "$status"
}
# Two targets at a time (CI has two cores), each for the full time.
for ((i = 0; i < ${#fuzz_targets[@]}; i += 2)); do
  pair=("${fuzz_targets[@]:i:2}")
  pids=()
  for t in "${pair[@]}"; do
    echo "== fuzz_$t for ${seconds}s"
    fuzz_one "$t" &
    pids+=($!)
  done
  for j in "${!pair[@]}"; do
    t="${pair[j]}"
    status=0
    wait "${pids[j]}" || status=$?
    grep -E '^stat::number_of_executed_units' "$scratch/$t.log" | sed "s/^/fuzz_$t /" || true
    if [ "$status" -ne 0 ]; then
      echo "fuzz_$t failed (exit $status); the end of its log:"
      tail -n 40 "$scratch/$t.log"
      echo "the input: $(ls -d "$findings/$t"/* 2> /dev/null) (fix it, then add it to tests/fuzz/corpus/$t/)"
      wait
      exit 1
    fi
  done
done
echo "sanitizer tests and fuzz smoke run passed in $((SECONDS - start)) s"
