#!/usr/bin/python3
"""Check `tightfit eval ppl` against the PyTorch reference (qwen35_torch.py): the same text, the
same tokens (`tightfit tokenize`), the same sliding windows (Hugging Face's stride recipe,
docs/eval.md "Perplexity", written out here independently), the negative log-likelihoods summed
in float64 from PyTorch's float32 logits. Passes when the perplexities agree to --rtol and the
scored token counts are equal.

usage: check_eval_ppl.py TIGHTFIT MODEL_DIR TEXT [--chars 4000] [--ctx 256] [--stride 96]
           [--rtol 1e-5]
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from qwen35_torch import Qwen35Moe  # noqa: E402


def windows(n: int, ctx: int, stride: int) -> list[tuple[int, int, int]]:
    """(begin, end, first target) of each window: every token but the first scored once."""
    out, previous_end, begin = [], 0, 0
    while True:
        end = min(begin + ctx, n)
        first = max(previous_end, begin + 1)
        if first < end:
            out.append((begin, end, first))
        previous_end = end
        if end == n:
            return out
        begin += stride


def torch_perplexity(model: Qwen35Moe, ids: list[int], ctx: int, stride: int) -> tuple[float, int]:
    nll, count = 0.0, 0
    with torch.no_grad():
        for begin, end, first in windows(len(ids), ctx, stride):
            logits, _ = model(torch.tensor([ids[begin:end]]))
            logprobs = torch.log_softmax(logits[0].double(), dim=-1)
            for t in range(first, end):  # row t - begin - 1 predicts token t
                nll -= float(logprobs[t - begin - 1, ids[t]])
                count += 1
    return math.exp(nll / count), count


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("tightfit")
    ap.add_argument("model", type=Path)
    ap.add_argument("text", type=Path)
    ap.add_argument("--chars", type=int, default=4000, help="use the text's first N characters")
    ap.add_argument("--ctx", type=int, default=256)
    ap.add_argument("--stride", type=int, default=96)
    ap.add_argument("--rtol", type=float, default=1e-5)
    a = ap.parse_args()
    torch.set_num_threads(1)
    text = a.text.read_text(encoding="utf-8")[:a.chars]
    with tempfile.TemporaryDirectory() as tmp:
        text_file, result_file = Path(tmp) / "text.txt", Path(tmp) / "ppl.json"
        text_file.write_text(text, encoding="utf-8")
        run = subprocess.run([a.tightfit, "eval", "ppl", "--model", str(a.model), "--text", str(text_file),
                              "--ctx", str(a.ctx), "--stride", str(a.stride), "--threads", "1",
                              "--json", str(result_file)], capture_output=True, text=True)
        if run.returncode != 0:
            print(f"FAIL tightfit eval ppl exited {run.returncode}: {run.stderr[-2000:]}")
            return 1
        result = json.loads(result_file.read_text())["results"]
        ids = json.loads(subprocess.run([a.tightfit, "tokenize", "--model", str(a.model), "--json", "-"],
                                        input=text, check=True, capture_output=True, text=True).stdout)["ids"]
    ppl, count = torch_perplexity(Qwen35Moe.from_pretrained(a.model), ids, a.ctx, a.stride)
    relative = abs(result["ppl"] - ppl) / ppl
    ok = relative <= a.rtol and result["tokens_scored"] == count == len(ids) - 1
    print(f"{'ok  ' if ok else 'FAIL'} {a.model.name}: tightfit eval ppl {result['ppl']:.6f} over "
          f"{result['tokens_scored']} tokens, PyTorch {ppl:.6f} over {count} tokens "
          f"({len(windows(len(ids), a.ctx, a.stride))} windows of {a.ctx}, stride {a.stride}); "
          f"relative difference {relative:.2e} (tolerance {a.rtol:.0e})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
