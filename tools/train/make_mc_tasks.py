#!/usr/bin/python3
"""The trained model's fact task (make_data.py: capitals, opposites, plurals) as multiple-choice
items in lm-evaluation-harness's dataset shapes, for `tightfit eval mc` (docs/eval.md):

  data/eval/tiny-qwen35-facts-arc.jsonl   arc shape:  question, choices.text/label, answerKey
  data/eval/tiny-qwen35-facts-mmlu.jsonl  mmlu shape: question, choices[4], answer, subject
  data/eval/tiny-qwen35-facts.jsonl       custom shape: context "Q: {question}\nA:" (the format
                                          the model was trained on), choices[4], answer

The harness's shapes wrap the question in their own prompts, which this model never saw (it
scores near chance there); the custom shape asks in its own format.

Each item is one fact; its three wrong choices are answers of other facts of the same kind,
drawn with a fixed seed, and the right choice's position is drawn too. Deterministic:

    /usr/bin/python3 tools/train/make_mc_tasks.py --out data/eval
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_data import facts  # noqa: E402

SUBJECTS = {"capital": "geography", "opposite": "english vocabulary", "plural": "english grammar"}


def items(seed: int) -> list[dict]:
    rng = random.Random(seed)
    rows = facts()
    out = []
    for n, (kind, question, answer) in enumerate(rows):
        others = sorted({a for k, _, a in rows if k == kind and a != answer})
        choices = rng.sample(others, 3)
        gold = rng.randrange(4)
        choices.insert(gold, answer)
        out.append({"id": f"tiny-qwen35-{kind}-{n}", "kind": kind, "question": question,
                    "choices": choices, "gold": gold})
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--seed", type=int, default=16)
    a = ap.parse_args()
    labels = ["A", "B", "C", "D"]
    with (a.out / "tiny-qwen35-facts-arc.jsonl").open("w") as arc, \
         (a.out / "tiny-qwen35-facts-mmlu.jsonl").open("w") as mmlu, \
         (a.out / "tiny-qwen35-facts.jsonl").open("w") as custom:
        for it in items(a.seed):
            custom.write(json.dumps({"id": it["id"], "context": f"Q: {it['question']}\nA:",
                                     "choices": it["choices"], "answer": it["gold"]}) + "\n")
            arc.write(json.dumps({"id": it["id"], "question": it["question"],
                                  "choices": {"text": it["choices"], "label": labels},
                                  "answerKey": labels[it["gold"]]}) + "\n")
            mmlu.write(json.dumps({"question": it["question"], "choices": it["choices"],
                                   "answer": it["gold"], "subject": SUBJECTS[it["kind"]]}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
