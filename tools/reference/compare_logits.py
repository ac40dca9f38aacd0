#!/usr/bin/python3
"""Compare logits of another engine (e.g. `tightfit logits --out X.npy`) with the PyTorch reference.

  compare_logits.py MODEL_DIR IDS LOGITS.npy [--max-rel-l2 1e-3] [--save-ref REF.npy] [--draft DRAFT.npy]

IDS: comma-separated token ids (the same as given to the engine). Prints relative L2
(||a - r|| / ||r|| over the whole array), max |a - r| and the share of rows with the same argmax;
exit status 0 iff relative L2 <= --max-rel-l2. --save-ref writes the reference logits (float32),
--draft also writes the MTP draft logits (row t predicts token t + 2).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from qwen35_torch import Qwen35Moe  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", type=Path)
    ap.add_argument("ids")
    ap.add_argument("logits", type=Path, nargs="?")
    ap.add_argument("--max-rel-l2", type=float, default=1e-3)
    ap.add_argument("--save-ref", type=Path)
    ap.add_argument("--draft", type=Path)
    a = ap.parse_args()
    torch.set_num_threads(1)
    ids = torch.tensor([[int(x) for x in a.ids.split(",")]])
    m = Qwen35Moe.from_pretrained(a.model)
    with torch.no_grad():
        ref, hidden = m(ids)
        ref = ref[0].numpy()
        if a.draft:
            np.save(a.draft, m.mtp_logits(ids, hidden)[0].numpy().astype(np.float32))
    if a.save_ref:
        np.save(a.save_ref, ref.astype(np.float32))
    if a.logits is None:
        return 0
    got = np.load(a.logits)
    if got.shape != ref.shape:
        print(f"shape {got.shape} != reference {ref.shape}")
        return 1
    d = got.astype(np.float64) - ref
    rel = float(np.linalg.norm(d) / np.linalg.norm(ref))
    same = float((got.argmax(-1) == ref.argmax(-1)).mean())
    print(json.dumps({"rel_l2": rel, "max_abs": float(np.abs(d).max()), "argmax_same": same}))
    return 0 if rel <= a.max_rel_l2 else 1


if __name__ == "__main__":
    sys.exit(main())
