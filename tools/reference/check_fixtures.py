#!/usr/bin/python3
"""Check the PyTorch reference (qwen35_torch.py) against the shipped reference fixtures.

  tests/data/tiny-qwen35moe-a    main-model logits of llama.cpp (seq16, seq40)
  tests/data/tiny-qwen35moe-mtp  float64 reference main logits + MTP draft logits (random/, copy/)

Tolerances are the fixtures' own (their READMEs): max |d| <= 1e-3, relative L2 <= 1e-3, identical
argmax on every row. Also checks that the chunked delta rule (used for training) equals the
sequential one. Exit status 0 iff everything holds.

usage: check_fixtures.py [DATA_DIR]   (default: tests/data next to this repo's tools/)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from qwen35_torch import Qwen35Moe, delta_rule_chunked, delta_rule_sequential  # noqa: E402


def compare(name: str, got: np.ndarray, ref: np.ndarray) -> bool:
    d = got.astype(np.float64) - ref.astype(np.float64)
    max_abs = float(np.abs(d).max())
    rel = float(np.linalg.norm(d) / np.linalg.norm(ref))
    argmax_ok = bool((got.argmax(-1) == ref.argmax(-1)).all())
    ok = got.shape == ref.shape and max_abs <= 1e-3 and rel <= 1e-3 and argmax_ok
    print(f"{'ok  ' if ok else 'FAIL'} {name}: max|d| {max_abs:.2e} relL2 {rel:.2e} argmax {'same' if argmax_ok else 'DIFFERS'}")
    return ok


def check_chunked() -> bool:
    g = torch.Generator().manual_seed(7)
    B, T, H, dk, dv = 2, 150, 3, 16, 8
    q = torch.nn.functional.normalize(torch.randn(B, T, H, dk, generator=g), dim=-1) * dk ** -0.5
    k = torch.nn.functional.normalize(torch.randn(B, T, H, dk, generator=g), dim=-1)
    v = torch.randn(B, T, H, dv, generator=g)
    log_decay = -torch.rand(B, T, H, generator=g) * 0.5
    beta = torch.rand(B, T, H, generator=g)
    a = delta_rule_sequential(q, k, v, log_decay, beta)
    b = delta_rule_chunked(q, k, v, log_decay, beta, chunk=32)
    err = float((a - b).abs().max())
    ok = err < 1e-4
    print(f"{'ok  ' if ok else 'FAIL'} chunked delta rule vs sequential: max|d| {err:.2e}")
    return ok


def main() -> int:
    torch.set_num_threads(1)
    data = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "tests" / "data"
    ok = check_chunked()
    a = data / "tiny-qwen35moe-a"
    toks = json.loads((a / "tokens.json").read_text())
    m = Qwen35Moe.from_pretrained(a)
    with torch.no_grad():
        for s in ("seq16", "seq40"):
            logits, _ = m(torch.tensor([toks[s]]))
            ok &= compare(f"tiny-qwen35moe-a {s} logits vs llama.cpp", logits[0].numpy(), np.load(a / f"logits_{s}.npy"))
    mtp = data / "tiny-qwen35moe-mtp"
    toks = json.loads((mtp / "tokens.json").read_text())
    for variant in ("random", "copy"):
        m = Qwen35Moe.from_pretrained(mtp / variant)
        with torch.no_grad():
            for s in ("seq16", "seq40"):
                ids = torch.tensor([toks[s]])
                logits, hidden = m(ids)
                ok &= compare(f"mtp/{variant} {s} logits", logits[0].numpy(), np.load(mtp / variant / f"logits_{s}.npy"))
                draft = m.mtp_logits(ids, hidden)
                ok &= compare(f"mtp/{variant} {s} draft logits", draft[0].numpy(),
                              np.load(mtp / variant / f"draft_logits_{s}.npy"))
                m.set_chunked(True)
                chunked, _ = m(ids)
                m.set_chunked(False)
                ok &= compare(f"mtp/{variant} {s} logits (chunked delta rule)", chunked[0].numpy(),
                              np.load(mtp / variant / f"logits_{s}.npy"))
    print("all checks passed" if ok else "SOME CHECKS FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
