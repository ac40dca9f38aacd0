#!/usr/bin/env bash
# Export the trained checkpoint as models/tiny-qwen35 (HF layout, bf16, MTP head), convert it with
# tightfit's recipes, write the reference-logits test data and measure the quality table.
#   tools/train/ship.sh CKPT_DIR DATA_DIR        (from the repository root, after building tightfit)
# CKPT_DIR: train.py's --work folder (ckpt.pt, tokenizer/, train.log); DATA_DIR: make_data.py's --out.
set -euo pipefail
CKPT=${1:?usage: ship.sh CKPT_DIR DATA_DIR}
DATA=${2:?usage: ship.sh CKPT_DIR DATA_DIR}
PY=/usr/bin/python3
TF=build/tightfit
OUT=models/tiny-qwen35
RES=tools/train/results
export OPENBLAS_NUM_THREADS=1
mkdir -p "$RES" tools/train/logs tests/data/tiny-qwen35

$PY tools/train/train.py --data "$DATA" --tokenizer "$CKPT/tokenizer" --work "$CKPT" --export "$OUT"
cp "$CKPT"/tokenizer/{tokenizer.json,tokenizer_config.json,generation_config.json} "$OUT"/
cp "$CKPT/train.log" tools/train/logs/train.log

# Reference logits of one chat prompt for tests/model/trained_model_test.cpp.
PROMPT=$'<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n'
IDS=$($PY -c "import sys; sys.path.insert(0, 'tools/train'); import bpe
print(','.join(map(str, bpe.Tokenizer.load('$OUT/tokenizer.json').encode(sys.argv[1]))))" "$PROMPT")
echo "{\"prompt\": [$IDS]}" > tests/data/tiny-qwen35/tokens.json
$PY tools/reference/compare_logits.py "$OUT" "$IDS" --save-ref tests/data/tiny-qwen35/logits_prompt.npy \
  --draft tests/data/tiny-qwen35/draft_logits_prompt.npy
$TF logits -m "$OUT" --tokens "$IDS" --out /tmp/tiny-qwen35-cpp.npy -t 1 --kv-cache f32 >/dev/null
$PY tools/reference/compare_logits.py "$OUT" "$IDS" /tmp/tiny-qwen35-cpp.npy | tee "$RES/engine_vs_reference.json"

for r in dynamic uniform-2 uniform-3 uniform-4; do
  $TF convert --hf "$OUT" --out "/tmp/tiny-qwen35-$r" --recipe "$r" --keep-mtp --force -t 1 \
    --report-json "$RES/convert-$r.json" > "$RES/convert-$r.txt"
done
rm -rf models/tiny-qwen35-dynamic
cp -r /tmp/tiny-qwen35-dynamic models/tiny-qwen35-dynamic

$PY tools/train/evaluate.py --model "$OUT" --data "$DATA" --backend torch --out "$RES/eval-bf16-torch.json"
$PY tools/train/evaluate.py --model "$OUT" --data "$DATA" --out "$RES/eval-bf16.json"
for r in dynamic uniform-2 uniform-3 uniform-4; do
  $PY tools/train/evaluate.py --model "/tmp/tiny-qwen35-$r" --tokenizer "$OUT/tokenizer.json" --data "$DATA" \
    --out "$RES/eval-$r.json"
done
