#!/usr/bin/python3
"""Markdown tables for the model card from train.log and the results/ of ship.sh.

  summarize.py tools/train/logs/train.log tools/train/results
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path


def loss_table(log: Path) -> str:
    recs = [json.loads(l) for l in log.open()]
    steps = [r for r in recs if "step" in r and "loss" in r]
    out = ["| steps | train loss (mean) | MTP loss (t+2) | held-out loss | held-out ppl (mixture) |", "|---|---|---|---|---|"]
    bucket = 20
    for lo in range(0, steps[-1]["step"], bucket):
        b = [r for r in steps if lo < r["step"] <= lo + bucket]
        if not b:
            continue
        ev = [r for r in b if "test_loss" in r]
        tl = f"{ev[-1]['test_loss']:.3f}" if ev else ""
        tp = f"{math.exp(ev[-1]['test_loss']):.1f}" if ev else ""
        out.append(f"| {lo + 1}–{b[-1]['step']} | {sum(r['loss'] for r in b) / len(b):.3f} | "
                   f"{sum(r['mtp'] for r in b) / len(b):.3f} | {tl} | {tp} |")
    return "\n".join(out)


def quality_table(res: Path) -> str:
    rows = [("bf16 (HF layout)", "eval-bf16.json", None)] + [
        (r, f"eval-{r}.json", f"convert-{r}.txt") for r in ("uniform-4", "uniform-3", "dynamic", "uniform-2")]
    tasks = None
    lines = []
    for name, ev, conv in rows:
        e = json.loads((res / ev).read_text())
        if tasks is None:
            tasks = list(e["accuracy"])
            lines.append("| checkpoint | bits/weight | Brown ppl | " + " | ".join(tasks) +
                         " | mean exact | mean answer-token acc. |")
            lines.append("|---" * (len(tasks) + 5) + "|")
        bpw = "16"
        if conv:
            for l in (res / conv).read_text().splitlines():
                if l.startswith("bits per weight"):
                    bpw = l.split(":")[1].split("=")[0].strip()
        accs = " | ".join(f"{100 * e['accuracy'][t]:.0f} / {100 * e['answer_token_accuracy'][t]:.0f}" for t in tasks)
        lines.append(f"| {name} | {bpw} | {e['brown_ppl']:.1f} | {accs} | {100 * e['mean_accuracy']:.1f} % | "
                     f"{100 * e['mean_answer_token_accuracy']:.1f} % |")
    return "\n".join(lines)


def main() -> int:
    print(loss_table(Path(sys.argv[1])))
    print()
    print(quality_table(Path(sys.argv[2])))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
