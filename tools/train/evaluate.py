#!/usr/bin/python3
"""Held-out perplexity and task accuracy of a tiny-qwen35 checkpoint (any conversion).

  evaluate.py --model DIR --data DATA_DIR [--backend tightfit|torch] [--tightfit build/tightfit] [--out R.json]

Logits come from the C++ engine (`tightfit logits`, f32 KV cache, one thread; works for every
conversion) or from the PyTorch reference (HF folders only). The tokenizer is the model folder's
tokenizer.json, encoded by tools/train/bpe.py (checked identical to tightfit's).

  perplexity  exp(mean next-token NLL) over the first --ppl-windows non-overlapping 256-token
              windows of the held-out Brown text (documents joined by <|endoftext|>, as in training)
  accuracy    per task, the first --per-task held-out examples (--per-tool for the two tool tasks):
              an example counts as correct iff greedy decoding reproduces its answer exactly,
              i.e. the argmax at every answer position equals the answer token (teacher-forced,
              which is the same thing for greedy). Also the share of answer tokens whose argmax
              is right (answer_token_accuracy), a finer measure of the same thing. Short examples are packed, each preceded by
              <|endoftext|>, into sequences of at most 256 tokens (training packs documents the
              same way); tool examples run one per sequence.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import bpe  # noqa: E402

WINDOW = 256
TOOL_TASKS = ("tool-call", "tool-answer")


class TorchBackend:
    def __init__(self, model_dir: Path):
        import torch
        sys.path.insert(0, str(HERE.parent / "reference"))
        from qwen35_torch import Qwen35Moe
        torch.set_num_threads(1)
        self.torch = torch
        self.model = Qwen35Moe.from_pretrained(model_dir)

    def logits(self, ids: list[int]) -> np.ndarray:
        with self.torch.no_grad():
            return self.model(self.torch.tensor([ids]))[0][0].numpy()


class TightfitBackend:
    def __init__(self, model_dir: Path, binary: Path):
        self.model_dir, self.binary = model_dir, binary
        self.tmp = Path(tempfile.mkdtemp())

    def logits(self, ids: list[int]) -> np.ndarray:
        out = self.tmp / "l.npy"
        subprocess.run([str(self.binary), "logits", "-m", str(self.model_dir), "--tokens", ",".join(map(str, ids)),
                        "--out", str(out), "-t", "1", "--kv-cache", "f32"], check=True, capture_output=True)
        return np.load(out)


def log_softmax(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.float64)
    m = x.max(-1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(-1, keepdims=True))


def perplexity(backend, tok: bpe.Tokenizer, docs: list[str], windows: int) -> float:
    eot = tok.added["<|endoftext|>"]
    stream: list[int] = []
    for d in docs:
        stream += tok.encode(d) + [eot]
        if len(stream) >= windows * WINDOW:
            break
    nll, n = 0.0, 0
    for w in range(windows):
        ids = stream[w * WINDOW:(w + 1) * WINDOW]
        lp = log_softmax(backend.logits(ids))
        nll -= float(sum(lp[i, ids[i + 1]] for i in range(len(ids) - 1)))
        n += len(ids) - 1
    return math.exp(nll / n)


def encode_example(tok: bpe.Tokenizer, prompt: str, answer: str) -> tuple[list[int], int]:
    """(ids of <|endoftext|> + prompt + answer, index of the first answer token)."""
    eot = tok.added["<|endoftext|>"]
    p = tok.encode(prompt)
    full = tok.encode(prompt + answer)
    if full[:len(p)] != p:          # the boundary merged across: score the separate encodings
        full = p + tok.encode(answer)
    return [eot] + full, 1 + len(p)


def accuracy(backend, tok: bpe.Tokenizer, examples: list[dict], pack: bool) -> tuple[float, float]:
    encoded = [encode_example(tok, e["prompt"], e["answer"]) for e in examples]
    groups: list[list[tuple[list[int], int]]] = []
    for ex in encoded:
        if pack and groups and sum(len(x[0]) for x in groups[-1]) + len(ex[0]) <= WINDOW:
            groups[-1].append(ex)
        else:
            groups.append([ex])
    correct, tok_ok, tok_n = 0, 0, 0
    for g in groups:
        ids = [t for ex in g for t in ex[0]]
        am = backend.logits(ids).argmax(-1)
        off = 0
        for seq, first in g:
            hits = [am[off + i - 1] == seq[i] for i in range(first, len(seq))]
            correct += all(hits)
            tok_ok += sum(hits)
            tok_n += len(hits)
            off += len(seq)
    return correct / len(examples), tok_ok / tok_n


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, required=True)
    ap.add_argument("--data", type=Path, required=True, help="folder with test.jsonl (make_data.py)")
    ap.add_argument("--backend", choices=["tightfit", "torch"], default="tightfit")
    ap.add_argument("--tightfit", type=Path, default=HERE.parents[1] / "build" / "tightfit")
    ap.add_argument("--tokenizer", type=Path, help="tokenizer.json (default: the model folder's)")
    ap.add_argument("--ppl-windows", type=int, default=12)
    ap.add_argument("--per-task", type=int, default=40)
    ap.add_argument("--per-tool", type=int, default=8)
    ap.add_argument("--out", type=Path)
    a = ap.parse_args()
    tok = bpe.Tokenizer.load(a.tokenizer or a.model / "tokenizer.json")
    backend = TorchBackend(a.model) if a.backend == "torch" else TightfitBackend(a.model, a.tightfit)
    rows = [json.loads(l) for l in (a.data / "test.jsonl").open()]
    res: dict = {"model": str(a.model), "backend": a.backend}
    res["brown_ppl"] = perplexity(backend, tok, [r["text"] for r in rows if r["task"] == "brown"], a.ppl_windows)
    tasks = sorted({r["task"] for r in rows} - {"brown"})
    acc, tok_acc = {}, {}
    for t in tasks:
        ex = [r for r in rows if r["task"] == t][:a.per_tool if t in TOOL_TASKS else a.per_task]
        acc[t], tok_acc[t] = accuracy(backend, tok, ex, pack=t not in TOOL_TASKS)
    res["accuracy"] = acc
    res["answer_token_accuracy"] = tok_acc
    res["mean_answer_token_accuracy"] = sum(tok_acc.values()) / len(tok_acc)
    res["mean_accuracy"] = sum(acc.values()) / len(acc)
    print(json.dumps(res))
    if a.out:
        a.out.write_text(json.dumps(res, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
