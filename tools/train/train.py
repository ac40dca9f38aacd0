#!/usr/bin/python3
"""Train the small Qwen3.5-MoE model (models/tiny-qwen35) on CPU with the PyTorch reference.

  train.py --config tools/train/config.json --data DATA_DIR --tokenizer TOK_DIR --work CKPT_DIR [--resume]
  train.py ... --export MODEL_DIR       write the last checkpoint as a Hugging Face folder

Deterministic and resumable: the batch of step s is drawn from a generator seeded by (seed, s),
so a run stopped and resumed with --resume (model, optimiser and step from CKPT_DIR/ckpt.pt)
sees the same data in the same order as an uninterrupted one. Loss = next-token cross-entropy
+ mtp_loss_weight * MTP cross-entropy (the head at t predicts x_{t+2}, as the real model's MTP
objective) + aux_loss_weight * the routers' load-balancing loss. One CPU thread.

Log lines go to CKPT_DIR/train.log (JSON per line): step, loss, mtp, aux, lr, tokens/s, and every
eval_every steps the held-out loss of a fixed set of test windows.

Two phases: `steps` steps on the whole mixture (warm-up, cosine from lr to min_lr_ratio * lr), then
`task_steps` steps in which `task_fraction` of each batch's rows are windows of the generated
tasks only (no Brown), with a cosine from task_lr to task_lr / 10.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "reference"))
sys.path.insert(0, str(HERE))
from qwen35_torch import Qwen35Moe  # noqa: E402
import bpe  # noqa: E402


def hf_config(m: dict, tok: "bpe.Tokenizer") -> dict:
    """config.json in the layout of Qwen/Qwen3.5-35B-A3B (text fields under text_config)."""
    rd = int(m["head_dim"] * m["partial_rotary_factor"])
    half = rd // 2
    a = (half + 2) // 3
    b = (half - a + 1) // 2
    n = m["num_hidden_layers"]
    text = {
        "attention_bias": False, "attention_dropout": 0.0, "attn_output_gate": True, "dtype": "bfloat16",
        "eos_token_id": tok.added["<|endoftext|>"], "full_attention_interval": m["full_attention_interval"],
        "head_dim": m["head_dim"], "hidden_act": "silu", "hidden_size": m["hidden_size"], "initializer_range": 0.02,
        "layer_types": ["full_attention" if (i + 1) % m["full_attention_interval"] == 0 else "linear_attention"
                        for i in range(n)],
        "linear_conv_kernel_dim": m["linear_conv_kernel_dim"], "linear_key_head_dim": m["linear_key_head_dim"],
        "linear_num_key_heads": m["linear_num_key_heads"], "linear_num_value_heads": m["linear_num_value_heads"],
        "linear_value_head_dim": m["linear_value_head_dim"], "mamba_ssm_dtype": "float32",
        "max_position_embeddings": m["max_position_embeddings"], "model_type": "qwen3_5_moe_text",
        "moe_intermediate_size": m["moe_intermediate_size"], "mtp_num_hidden_layers": m["mtp_num_hidden_layers"],
        "mtp_use_dedicated_embeddings": False, "num_attention_heads": m["num_attention_heads"],
        "num_experts": m["num_experts"], "num_experts_per_tok": m["num_experts_per_tok"], "num_hidden_layers": n,
        "num_key_value_heads": m["num_key_value_heads"], "output_router_logits": False, "pad_token_id": None,
        "partial_rotary_factor": m["partial_rotary_factor"], "rms_norm_eps": m["rms_norm_eps"],
        "rope_parameters": {"mrope_interleaved": True, "mrope_section": [a, b, half - a - b],
                            "partial_rotary_factor": m["partial_rotary_factor"], "rope_theta": m["rope_theta"],
                            "rope_type": "default"},
        "router_aux_loss_coef": 0.001, "shared_expert_intermediate_size": m["shared_expert_intermediate_size"],
        "tie_word_embeddings": False, "use_cache": True, "vocab_size": m["vocab_size"],
    }
    return {
        "architectures": ["Qwen3_5MoeForConditionalGeneration"], "dtype": "bfloat16",
        "image_token_id": tok.added["<|image_pad|>"], "model_type": "qwen3_5_moe", "text_config": text,
        "tie_word_embeddings": False, "transformers_version": "4.57.0.dev0",
        "video_token_id": tok.added["<|video_pad|>"],
        "vision_end_token_id": tok.added["<|vision_end|>"], "vision_start_token_id": tok.added["<|vision_start|>"],
    }


def init_weights(model: Qwen35Moe, seed: int) -> None:
    """HF-style init: linears/embeddings N(0, 0.02), residual writers scaled by 1/sqrt(2 L),
    zero-centred norms 0, GDN norm 1, A_log = log U(1, 16), dt_bias = softplus^-1(dt), dt log-U[1e-3, 1e-1]."""
    g = torch.Generator().manual_seed(seed)
    L = model.config.num_hidden_layers
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("A_log"):
                p.copy_(torch.empty_like(p).uniform_(1, 16, generator=g).log())
            elif name.endswith("dt_bias"):
                dt = torch.exp(torch.empty_like(p).uniform_(math.log(1e-3), math.log(1e-1), generator=g))
                p.copy_(dt + torch.log(-torch.expm1(-dt)))
            elif name.endswith("linear_attn.norm.weight"):
                p.fill_(1.0)
            elif p.dim() == 1:
                p.zero_()
            elif "conv1d" in name:
                p.copy_(torch.empty_like(p).uniform_(-0.5, 0.5, generator=g))
            else:
                std = 0.02
                if any(name.endswith(s) for s in ("out_proj.weight", "o_proj.weight", "down_proj", "down_proj.weight")):
                    std /= math.sqrt(2 * L)
                p.copy_(torch.randn(p.shape, generator=g) * std)


# ----------------------------------------------------------------------------- data

def tokenise_split(data_dir: Path, tok: "bpe.Tokenizer", split: str, cache: Path,
                   tasks_only: bool = False) -> np.ndarray:
    """One stream of ids: every document followed by <|endoftext|> (tasks_only: all but Brown)."""
    f = cache / f"{split}{'_tasks' if tasks_only else ''}.npy"
    if f.exists():
        return np.load(f)
    eot = tok.added["<|endoftext|>"]
    ids: list[int] = []
    for line in (data_dir / f"{split}.jsonl").open():
        doc = json.loads(line)
        if tasks_only and doc["task"] == "brown":
            continue
        ids.extend(tok.encode(doc["text"]))
        ids.append(eot)
    arr = np.array(ids, dtype=np.int32)
    np.save(f, arr)
    return arr


def batch(stream: np.ndarray, rng: np.random.Generator, B: int, T: int) -> torch.Tensor:
    starts = rng.integers(0, len(stream) - T - 1, B)
    return torch.from_numpy(np.stack([stream[s:s + T + 1] for s in starts]).astype(np.int64))


def losses(model: Qwen35Moe, ids: torch.Tensor):
    x, y = ids[:, :-1], ids[:, 1:]
    logits, hidden = model(x)
    main = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
    draft = model.mtp_logits(x, hidden)            # row t predicts x_{t+2}
    mtp = F.cross_entropy(draft[:, :-1].reshape(-1, draft.shape[-1]), x[:, 2:].reshape(-1))
    return main, mtp


def evaluate(model, windows: torch.Tensor) -> dict:
    model.eval()
    with torch.no_grad():
        tot, tot_m = 0.0, 0.0
        for i in range(0, len(windows), 8):
            a, b = losses(model, windows[i:i + 8])
            n = len(windows[i:i + 8])
            tot += float(a) * n
            tot_m += float(b) * n
    model.train()
    return {"test_loss": tot / len(windows), "test_mtp_loss": tot_m / len(windows)}


# ----------------------------------------------------------------------------- main

def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", type=Path, default=HERE / "config.json")
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--tokenizer", type=Path, required=True, help="folder with tokenizer.json")
    ap.add_argument("--work", type=Path, required=True, help="checkpoints, token cache and train.log")
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--export", type=Path, help="write the checkpoint as an HF folder and exit")
    ap.add_argument("--max-steps", type=int, help="stop after this step (for timing runs)")
    a = ap.parse_args()
    torch.set_num_threads(1)
    cfg = json.loads(a.config.read_text())
    m, t = cfg["model"], cfg["train"]
    tok = bpe.Tokenizer.load(a.tokenizer / "tokenizer.json")
    a.work.mkdir(parents=True, exist_ok=True)
    model = Qwen35Moe(hf_config(m, tok))
    model.set_chunked(True)
    init_weights(model, t["seed"])
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": t["weight_decay"]},
                             {"params": no_decay, "weight_decay": 0.0}], lr=t["lr"], betas=(0.9, 0.95))
    ckpt = a.work / "ckpt.pt"
    step = 0
    if a.resume or a.export:
        state = torch.load(ckpt)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        step = state["step"]
    if a.export:
        model.save_pretrained(a.export)
        print(f"exported step {step} to {a.export}")
        return 0
    n_params = sum(p.numel() for p in model.parameters())
    train_ids = tokenise_split(a.data, tok, "train", a.work)
    test_ids = tokenise_split(a.data, tok, "test", a.work)
    T, B = t["seq_len"], t["batch_size"]
    eval_windows = batch(test_ids, np.random.default_rng(t["seed"] + 7), t["eval_windows"], T)
    log = (a.work / "train.log").open("a")

    def emit(rec):
        log.write(json.dumps(rec) + "\n")
        log.flush()

    emit({"event": "start" if step == 0 else "resume", "step": step, "params": n_params,
          "train_tokens": int(len(train_ids)), "test_tokens": int(len(test_ids)), "time": time.time()})
    last_ckpt = time.time()
    t0 = time.time()
    model.train()
    task_ids = tokenise_split(a.data, tok, "train", a.work, tasks_only=True)
    total = t["steps"] + t.get("task_steps", 0)
    while step < total and (a.max_steps is None or step < a.max_steps):
        lr = t["lr"] * min(1.0, (step + 1) / t["warmup_steps"])
        if step >= t["steps"]:      # phase 2: task-weighted data, its own cosine from task_lr
            frac = (step - t["steps"]) / max(1, t["task_steps"])
            lr = t["task_lr"] * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac)))
        elif step >= t["warmup_steps"]:
            frac = (step - t["warmup_steps"]) / max(1, t["steps"] - t["warmup_steps"])
            lr = t["lr"] * (t["min_lr_ratio"] + (1 - t["min_lr_ratio"]) * 0.5 * (1 + math.cos(math.pi * frac)))
        for gr in opt.param_groups:
            gr["lr"] = lr
        rng = np.random.default_rng([t["seed"], step])
        ids = batch(train_ids, rng, B, T)
        if step >= t["steps"]:      # replace task_fraction of the rows by windows of the task stream
            n_task = int(round(t["task_fraction"] * B))
            ids[:n_task] = batch(task_ids, rng, n_task, T)
        ts = time.time()
        main_loss, mtp_loss = losses(model, ids)
        aux = model.aux_loss()
        loss = main_loss + t["mtp_loss_weight"] * mtp_loss + t["aux_loss_weight"] * aux
        opt.zero_grad(set_to_none=True)
        loss.backward()
        gn = torch.nn.utils.clip_grad_norm_(model.parameters(), t["grad_clip"])
        opt.step()
        step += 1
        dt = time.time() - ts
        rec = {"step": step, "loss": round(float(main_loss), 4), "mtp": round(float(mtp_loss), 4),
               "aux": round(float(aux), 4), "gnorm": round(float(gn), 3), "lr": round(lr, 6),
               "tok_s": round(B * T / dt, 1), "elapsed": round(time.time() - t0, 1)}
        if step % t["eval_every"] == 0 or step in (t["steps"], total):
            rec.update(evaluate(model, eval_windows))
        emit(rec)
        if time.time() - last_ckpt > t["checkpoint_every_s"] or step in (t["steps"], total):
            tmp = a.work / "ckpt.pt.tmp"
            torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step}, tmp)
            shutil.move(tmp, ckpt)
            last_ckpt = time.time()
    emit({"event": "done", "step": step, "time": time.time()})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
