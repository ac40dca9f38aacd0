#!/bin/bash
# Speculative decoding on models/tiny-qwen35 through `generate` (bench/RESULTS.md "MTP
# speculative decoding through the engine"): k = 0 (--no-spec), 1..4, with the full and a
# 512-id draft vocabulary; the nine configurations alternate within each of five rounds.
#   bench/speculative_trained.sh OUT.tsv && python3 bench/speculative_trained_table.py OUT.tsv
# Run it in its own autogroup at high priority on a shared machine:
#   setsid bash -c 'echo -19 > /proc/$$/autogroup; exec nice -n -19 bench/speculative_trained.sh out.tsv'
set -e
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$ROOT/build/tightfit}
OUT=${1:?usage: $0 OUT.tsv}
# A copy of the model (links) with its draft vocabulary beside it.
MODEL=$(mktemp -d)
ln -s "$ROOT"/models/tiny-qwen35/* "$MODEL"/
$BIN draft-vocab --model "$MODEL" --corpus "$ROOT/data/eval/brown-heldout.txt" --size 512 >&2
: > "$OUT"
prompts=("What is the capital of France?" "What is 23 + 58?" "What is the weather like in Paris today?" "Q: Who wrote the letter to the editor?")
raws=("The jury said that the city" "In the spring of that year, the committee")
configs=("--no-spec" "--draft 1" "--draft 2" "--draft 3" "--draft 4" "--draft 1 --draft-vocab 512" "--draft 2 --draft-vocab 512" "--draft 3 --draft-vocab 512" "--draft 4 --draft-vocab 512")
for round in 1 2 3 4 5; do
  for c in "${configs[@]}"; do
    for p in "${prompts[@]}"; do
      line=$($BIN generate --model "$MODEL" --threads 2 --prompt "$p" --max-tokens 128 --temp 0 --no-loop-guard $c 2>&1 >/dev/null | grep '^prompt:')
      printf '%s\t%s\tchat\t%s\n' "$round" "$c" "$line" >> "$OUT"
    done
    for p in "${raws[@]}"; do
      line=$($BIN generate --model "$MODEL" --threads 2 --raw --prompt "$p" --max-tokens 128 --temp 0 --no-loop-guard --logit-bias 2000:-1000,2002:-1000 $c 2>&1 >/dev/null | grep '^prompt:')
      printf '%s\t%s\traw\t%s\n' "$round" "$c" "$line" >> "$OUT"
    done
  done
done
rm -r "$MODEL"
