"""PyTorch implementation of the Qwen3.5 MoE text model and its MTP head (CPU, float32).

Written from the model's math as docs/ restates it (Hugging Face transformers
`modeling_qwen3_5_moe.py` semantics; the MTP head as vLLM / SGLang / llama.cpp run it) -- the
parameter names are the Hugging Face checkpoint's, so `state_dict()` *is* the HF layout, except
that the MTP experts are kept fused here and written per expert on save (as the real checkpoint
stores them).

Pieces (one class each):
  RMSNorm          zero-centred: x / rms(x) * (1 + w)       (input/post norms, final norm, q/k norm, MTP norms)
  GatedRMSNorm     plain:        x / rms(x) * w * silu(z)   (the Gated DeltaNet output norm; never 1 + w)
  GatedDeltaNet    qkv projection -> causal depthwise conv (kernel K) + SiLU on q, k, v only ->
                   l2-normalised q (then * dk^-0.5) and k, value head j reads key head j // (nv/nk) ->
                   gated delta rule S_t = a_t S_{t-1} + k_t (beta_t (v_t - S_{t-1}^T k_t))^T,
                   a_t = exp(-exp(A_log) * softplus(a + dt_bias)), beta_t = sigmoid(b), o_t = S_t^T q_t
                   -> GatedRMSNorm(o, z) -> out_proj
  GatedAttention   q_proj emits per head [query | gate]; q/k RMSNorm per head; rotary on the first
                   head_dim * partial_rotary_factor dims, NeoX half split, theta from config (text
                   positions: the interleaved M-RoPE axes all carry t, i.e. plain RoPE); causal GQA
                   softmax(q k^T / sqrt(hd)); output * sigmoid(gate) before o_proj
  SparseMoe        softmax router over all experts (f32) -> top-k -> renormalise; experts SwiGLU with
                   fused gate_up_proj [E, 2I, H] (gate rows first) and down_proj [E, H, I]; plus the
                   shared expert scaled by sigmoid(shared_expert_gate x) (one scalar per token)
  MtpHead          g_t = norm(layer(fc([RMSNorm(E[x_{t+1}]), RMSNorm(h_t)]))) -- embedding first,
                   h_t the main model's post-final-norm hidden; lm_head(g_t) predicts x_{t+2}

Layer i is full attention iff (i + 1) % full_attention_interval == 0, else Gated DeltaNet.

usage as a library: `m = Qwen35Moe.from_pretrained(dir)`; `logits, hidden = m(ids)`;
`draft = m.mtp_logits(ids, hidden)`; `m.save_pretrained(dir)`.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

try:  # imported as a package module or run from this folder
    from . import safetensors_io
except ImportError:  # pragma: no cover
    import safetensors_io  # type: ignore


# ----------------------------------------------------------------------------- config

class TextConfig:
    """The `text_config` fields the model reads (flat view of config.json)."""

    def __init__(self, cfg: dict):
        c = {**cfg, **cfg.get("text_config", {})}
        self.raw = cfg
        self.vocab_size = c["vocab_size"]
        self.hidden_size = c["hidden_size"]
        self.num_hidden_layers = c["num_hidden_layers"]
        self.layer_types = c.get("layer_types") or [
            "full_attention" if (i + 1) % c["full_attention_interval"] == 0 else "linear_attention"
            for i in range(self.num_hidden_layers)]
        self.num_attention_heads = c["num_attention_heads"]
        self.num_key_value_heads = c["num_key_value_heads"]
        self.head_dim = c["head_dim"]
        rope = c.get("rope_parameters") or {}
        self.rope_theta = rope.get("rope_theta", c.get("rope_theta", 10000.0))
        self.rotary_dim = int(self.head_dim * rope.get("partial_rotary_factor", c.get("partial_rotary_factor", 0.25)))
        self.linear_num_key_heads = c["linear_num_key_heads"]
        self.linear_num_value_heads = c["linear_num_value_heads"]
        self.linear_key_head_dim = c["linear_key_head_dim"]
        self.linear_value_head_dim = c["linear_value_head_dim"]
        self.linear_conv_kernel_dim = c["linear_conv_kernel_dim"]
        self.num_experts = c["num_experts"]
        self.num_experts_per_tok = c["num_experts_per_tok"]
        self.moe_intermediate_size = c["moe_intermediate_size"]
        self.shared_expert_intermediate_size = c["shared_expert_intermediate_size"]
        self.rms_norm_eps = c["rms_norm_eps"]
        self.mtp_num_hidden_layers = c.get("mtp_num_hidden_layers", 0)
        if self.linear_num_value_heads % self.linear_num_key_heads:
            raise ValueError("linear_num_value_heads must be a multiple of linear_num_key_heads")


# ----------------------------------------------------------------------------- norms

class RMSNorm(nn.Module):
    """Zero-centred RMSNorm: the stored weight w is applied as (1 + w)."""

    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(dim))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * (1.0 + self.weight)


class GatedRMSNorm(nn.Module):
    """The Gated DeltaNet output norm: plain weight w (not 1 + w), times silu(z)."""

    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x, z):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight * F.silu(z)


# ----------------------------------------------------------------------------- Gated DeltaNet

def delta_rule_sequential(q, k, v, log_decay, beta):
    """Reference recurrence. q, k [B, T, Hv, dk] (already normalised/scaled), v [B, T, Hv, dv],
    log_decay, beta [B, T, Hv]. Returns o [B, T, Hv, dv]; the state stays float32."""
    B, T, Hv, dk = k.shape
    S = q.new_zeros(B, Hv, dk, v.shape[-1])
    out = []
    for t in range(T):
        S = S * log_decay[:, t].exp()[..., None, None]
        kv_mem = torch.einsum("bhkv,bhk->bhv", S, k[:, t])
        delta = (v[:, t] - kv_mem) * beta[:, t][..., None]
        S = S + torch.einsum("bhk,bhv->bhkv", k[:, t], delta)
        out.append(torch.einsum("bhkv,bhk->bhv", S, q[:, t]))
    return torch.stack(out, 1)


def delta_rule_chunked(q, k, v, log_decay, beta, chunk: int = 64):
    """The same recurrence evaluated chunk by chunk (WY form), for training speed.

    Within a chunk with cumulative log-decay G_i, the delta rule's corrections solve the unit
    lower-triangular system (I + L) U = beta * (V - Gamma K S_0), L_ij = beta_i exp(G_i - G_j) k_i.k_j
    for j < i; then O = (Q * exp(G)) S_0 + (Q K^T * exp(G_i - G_j), j <= i) U and
    S_end = exp(G_last) S_0 + sum_j exp(G_last - G_j) k_j U_j^T.  Equal to delta_rule_sequential
    up to rounding (checked in check_fixtures.py)."""
    B, T, H, dk = k.shape
    dv = v.shape[-1]
    pad = (chunk - T % chunk) % chunk
    if pad:
        q, k, v = (F.pad(x, (0, 0, 0, 0, 0, pad)) for x in (q, k, v))
        log_decay, beta = (F.pad(x, (0, 0, 0, pad)) for x in (log_decay, beta))
    n = (T + pad) // chunk
    # [B, H, n, C, d]
    q, k, v = (x.transpose(1, 2).reshape(B, H, n, chunk, x.shape[-1]) for x in (q, k, v))
    g = log_decay.transpose(1, 2).reshape(B, H, n, chunk).cumsum(-1)
    bt = beta.transpose(1, 2).reshape(B, H, n, chunk)
    diff = g[..., :, None] - g[..., None, :]                                   # G_i - G_j
    causal = torch.ones(chunk, chunk, dtype=torch.bool).tril()
    decay = torch.where(causal, diff, torch.full_like(diff, -math.inf)).exp()  # 0 above the diagonal
    strict = torch.ones(chunk, chunk, dtype=torch.bool).tril(-1)
    kk = k @ k.transpose(-1, -2)
    L = torch.where(strict, bt[..., :, None] * kk * decay, torch.zeros_like(kk))
    eye = torch.eye(chunk, dtype=q.dtype)
    A = eye + L
    # U = A^{-1} (beta * (V - exp(G) K S0)) = A^{-1} beta V - A^{-1} (beta exp(G) K) S0
    Wv = torch.linalg.solve_triangular(A, bt[..., None] * v, upper=False, unitriangular=True)
    Wk = torch.linalg.solve_triangular(A, (bt * g.exp())[..., None] * k, upper=False, unitriangular=True)
    qk = (q @ k.transpose(-1, -2)) * decay
    S = q.new_zeros(B, H, dk, dv)
    outs = []
    for c in range(n):
        U = Wv[:, :, c] - Wk[:, :, c] @ S
        o = (q[:, :, c] * g[:, :, c, :, None].exp()) @ S + qk[:, :, c] @ U
        outs.append(o)
        glast = g[:, :, c, -1]
        S = S * glast.exp()[..., None, None] + \
            (k[:, :, c] * (glast[..., None] - g[:, :, c]).exp()[..., None]).transpose(-1, -2) @ U
    o = torch.stack(outs, 2).reshape(B, H, n * chunk, dv).transpose(1, 2)
    return o[:, :T]


class GatedDeltaNet(nn.Module):
    def __init__(self, c: TextConfig):
        super().__init__()
        H = c.hidden_size
        self.nk, self.nv = c.linear_num_key_heads, c.linear_num_value_heads
        self.dk, self.dv = c.linear_key_head_dim, c.linear_value_head_dim
        self.K = c.linear_conv_kernel_dim
        conv_dim = 2 * self.nk * self.dk + self.nv * self.dv
        self.in_proj_qkv = nn.Linear(H, conv_dim, bias=False)
        self.in_proj_z = nn.Linear(H, self.nv * self.dv, bias=False)
        self.in_proj_b = nn.Linear(H, self.nv, bias=False)
        self.in_proj_a = nn.Linear(H, self.nv, bias=False)
        self.conv1d = nn.Conv1d(conv_dim, conv_dim, self.K, groups=conv_dim, bias=False)
        self.dt_bias = nn.Parameter(torch.zeros(self.nv))
        self.A_log = nn.Parameter(torch.zeros(self.nv))
        self.norm = GatedRMSNorm(self.dv, c.rms_norm_eps)
        self.out_proj = nn.Linear(self.nv * self.dv, H, bias=False)
        self.chunked = False

    def forward(self, x):
        B, T, _ = x.shape
        qkv = self.in_proj_qkv(x).transpose(1, 2)                                  # [B, C, T]
        conv = F.silu(F.conv1d(F.pad(qkv, (self.K - 1, 0)), self.conv1d.weight, groups=qkv.shape[1]))
        conv = conv.transpose(1, 2)
        kd = self.nk * self.dk
        q = conv[..., :kd].reshape(B, T, self.nk, self.dk)
        k = conv[..., kd:2 * kd].reshape(B, T, self.nk, self.dk)
        v = conv[..., 2 * kd:].reshape(B, T, self.nv, self.dv)
        rep = self.nv // self.nk                      # value head j reads key head j // rep
        q = q.repeat_interleave(rep, dim=2)
        k = k.repeat_interleave(rep, dim=2)
        q = q * torch.rsqrt(q.pow(2).sum(-1, keepdim=True) + 1e-6) * self.dk ** -0.5
        k = k * torch.rsqrt(k.pow(2).sum(-1, keepdim=True) + 1e-6)
        beta = torch.sigmoid(self.in_proj_b(x))
        log_decay = -self.A_log.exp() * F.softplus(self.in_proj_a(x) + self.dt_bias)
        rule = delta_rule_chunked if self.chunked else delta_rule_sequential
        o = rule(q, k, v, log_decay, beta)
        z = self.in_proj_z(x).reshape(B, T, self.nv, self.dv)
        return self.out_proj(self.norm(o, z).reshape(B, T, -1))


# ----------------------------------------------------------------------------- gated attention

class GatedAttention(nn.Module):
    def __init__(self, c: TextConfig):
        super().__init__()
        H = c.hidden_size
        self.nh, self.nkv, self.hd = c.num_attention_heads, c.num_key_value_heads, c.head_dim
        self.rd, self.theta = c.rotary_dim, c.rope_theta
        self.q_proj = nn.Linear(H, self.nh * self.hd * 2, bias=False)
        self.k_proj = nn.Linear(H, self.nkv * self.hd, bias=False)
        self.v_proj = nn.Linear(H, self.nkv * self.hd, bias=False)
        self.o_proj = nn.Linear(self.nh * self.hd, H, bias=False)
        self.q_norm = RMSNorm(self.hd, c.rms_norm_eps)
        self.k_norm = RMSNorm(self.hd, c.rms_norm_eps)

    def rotate(self, u, pos):
        """NeoX rotation of the first rd dims (pairs i, i + rd/2); text positions on every M-RoPE axis."""
        inv = 1.0 / self.theta ** (torch.arange(0, self.rd, 2, dtype=torch.float64) / self.rd)
        ang = (pos.to(torch.float64)[:, None] * inv[None, :])
        ang = torch.cat([ang, ang], -1)
        cos, sin = ang.cos().to(u.dtype)[:, None, :], ang.sin().to(u.dtype)[:, None, :]
        ur, up = u[..., :self.rd], u[..., self.rd:]
        half = self.rd // 2
        rh = torch.cat([-ur[..., half:], ur[..., :half]], -1)
        return torch.cat([ur * cos + rh * sin, up], -1)

    def forward(self, x, pos):
        B, T, _ = x.shape
        qg = self.q_proj(x).reshape(B, T, self.nh, 2 * self.hd)
        q, gate = qg[..., :self.hd], qg[..., self.hd:].reshape(B, T, self.nh * self.hd)
        q = self.rotate(self.q_norm(q), pos)
        k = self.rotate(self.k_norm(self.k_proj(x).reshape(B, T, self.nkv, self.hd)), pos)
        v = self.v_proj(x).reshape(B, T, self.nkv, self.hd)
        grp = self.nh // self.nkv
        k = k.repeat_interleave(grp, dim=2)
        v = v.repeat_interleave(grp, dim=2)
        sc = torch.einsum("bqhd,bkhd->bhqk", q, k) * self.hd ** -0.5
        mask = torch.ones(T, T, dtype=torch.bool).triu(1)
        sc = sc.masked_fill(mask, -math.inf).softmax(-1)
        att = torch.einsum("bhqk,bkhd->bqhd", sc, v).reshape(B, T, self.nh * self.hd)
        return self.o_proj(att * torch.sigmoid(gate))


# ----------------------------------------------------------------------------- MoE

class Experts(nn.Module):
    """Fused expert stacks as in the HF checkpoint (tensor names without `.weight`)."""

    def __init__(self, E: int, H: int, I: int):
        super().__init__()
        self.gate_up_proj = nn.Parameter(torch.empty(E, 2 * I, H))
        self.down_proj = nn.Parameter(torch.empty(E, H, I))
        self.I = I


class SwiGLU(nn.Module):
    def __init__(self, H: int, I: int):
        super().__init__()
        self.gate_proj = nn.Linear(H, I, bias=False)
        self.up_proj = nn.Linear(H, I, bias=False)
        self.down_proj = nn.Linear(I, H, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class SparseMoe(nn.Module):
    def __init__(self, c: TextConfig):
        super().__init__()
        H = c.hidden_size
        self.E, self.topk = c.num_experts, c.num_experts_per_tok
        self.gate = nn.Linear(H, self.E, bias=False)
        self.experts = Experts(self.E, H, c.moe_intermediate_size)
        self.shared_expert = SwiGLU(H, c.shared_expert_intermediate_size)
        self.shared_expert_gate = nn.Linear(H, 1, bias=False)
        self.aux_loss = None   # Switch-style load-balancing loss of the last forward (training)

    def forward(self, x):
        shape = x.shape
        x = x.reshape(-1, shape[-1])
        probs = self.gate(x).float().softmax(-1)
        w, sel = probs.topk(self.topk, dim=-1)
        w = w / w.sum(-1, keepdim=True)
        out = torch.zeros_like(x)
        I = self.experts.I
        for e in range(self.E):
            tok, slot = (sel == e).nonzero(as_tuple=True)
            if tok.numel() == 0:
                continue
            xe = x[tok]
            gu = xe @ self.experts.gate_up_proj[e].t()
            y = (F.silu(gu[:, :I]) * gu[:, I:]) @ self.experts.down_proj[e].t()
            out = out.index_add(0, tok, y * w[tok, slot, None])
        if self.training:
            frac = F.one_hot(sel, self.E).float().sum(1).mean(0) / self.topk
            self.aux_loss = self.E * (frac * probs.mean(0)).sum()
        sh = self.shared_expert(x) * torch.sigmoid(self.shared_expert_gate(x))
        return (out + sh).reshape(shape)


# ----------------------------------------------------------------------------- blocks

class DecoderLayer(nn.Module):
    def __init__(self, c: TextConfig, layer_type: str):
        super().__init__()
        self.layer_type = layer_type
        self.input_layernorm = RMSNorm(c.hidden_size, c.rms_norm_eps)
        if layer_type == "linear_attention":
            self.linear_attn = GatedDeltaNet(c)
        else:
            self.self_attn = GatedAttention(c)
        self.post_attention_layernorm = RMSNorm(c.hidden_size, c.rms_norm_eps)
        self.mlp = SparseMoe(c)

    def forward(self, h, pos):
        x = self.input_layernorm(h)
        h = h + (self.linear_attn(x) if self.layer_type == "linear_attention" else self.self_attn(x, pos))
        return h + self.mlp(self.post_attention_layernorm(h))


class TextModel(nn.Module):
    def __init__(self, c: TextConfig):
        super().__init__()
        self.embed_tokens = nn.Embedding(c.vocab_size, c.hidden_size)
        self.layers = nn.ModuleList(DecoderLayer(c, t) for t in c.layer_types)
        self.norm = RMSNorm(c.hidden_size, c.rms_norm_eps)

    def forward(self, ids):
        h = self.embed_tokens(ids)
        pos = torch.arange(ids.shape[1])
        for layer in self.layers:
            h = layer(h, pos)
        return self.norm(h)


class MtpHead(nn.Module):
    def __init__(self, c: TextConfig):
        super().__init__()
        H = c.hidden_size
        self.pre_fc_norm_embedding = RMSNorm(H, c.rms_norm_eps)
        self.pre_fc_norm_hidden = RMSNorm(H, c.rms_norm_eps)
        self.fc = nn.Linear(2 * H, H, bias=False)
        self.layers = nn.ModuleList([DecoderLayer(c, "full_attention")])
        self.norm = RMSNorm(H, c.rms_norm_eps)

    def forward(self, emb_next, hidden, pos):
        u = self.fc(torch.cat([self.pre_fc_norm_embedding(emb_next), self.pre_fc_norm_hidden(hidden)], -1))
        return self.norm(self.layers[0](u, pos))


class _Wrapper(nn.Module):
    """Holds `language_model` so that names read `model.language_model.*` as in the checkpoint."""

    def __init__(self, c: TextConfig):
        super().__init__()
        self.language_model = TextModel(c)


class Qwen35Moe(nn.Module):
    def __init__(self, cfg: dict):
        super().__init__()
        self.config = TextConfig(cfg)
        c = self.config
        self.model = _Wrapper(c)
        self.lm_head = nn.Linear(c.hidden_size, c.vocab_size, bias=False)
        self.mtp = MtpHead(c) if c.mtp_num_hidden_layers == 1 else None

    def set_chunked(self, on: bool) -> None:
        """Use the chunked delta rule (training) instead of the sequential one (reference)."""
        for m in self.modules():
            if isinstance(m, GatedDeltaNet):
                m.chunked = on

    def forward(self, ids):
        """ids [B, T] -> (logits [B, T, V], post-final-norm hidden [B, T, H])."""
        h = self.model.language_model(ids)
        return self.lm_head(h), h

    def mtp_logits(self, ids, hidden):
        """Teacher-forced draft logits [B, T-1, V]: row t from (h_t, x_{t+1}) at position t, predicting x_{t+2}."""
        if self.mtp is None:
            raise ValueError("this model has no MTP head (mtp_num_hidden_layers is 0)")
        T = ids.shape[1]
        emb = self.model.language_model.embed_tokens(ids[:, 1:])
        g = self.mtp(emb, hidden[:, :T - 1], torch.arange(T - 1))
        return self.lm_head(g)

    def aux_loss(self):
        losses = [m.aux_loss for m in self.modules() if isinstance(m, SparseMoe) and m.aux_loss is not None]
        return sum(losses) / len(losses) if losses else torch.zeros(())

    # ------------------------------------------------------------------------- HF layout I/O

    def hf_state_dict(self) -> dict[str, torch.Tensor]:
        """Tensors under their checkpoint names; MTP experts per expert, as the real checkpoint."""
        out = {}
        for name, t in self.state_dict().items():
            if name.startswith("mtp.") and ".mlp.experts." in name:
                continue
            out[name] = t
        if self.mtp is not None:
            ex = self.mtp.layers[0].mlp.experts
            I = ex.I
            for e in range(ex.gate_up_proj.shape[0]):
                p = f"mtp.layers.0.mlp.experts.{e}."
                out[p + "gate_proj.weight"] = ex.gate_up_proj[e, :I]
                out[p + "up_proj.weight"] = ex.gate_up_proj[e, I:]
                out[p + "down_proj.weight"] = ex.down_proj[e]
        return out

    def load_hf_state_dict(self, W: dict[str, torch.Tensor]) -> None:
        W = dict(W)
        pe = "mtp.layers.0.mlp.experts."
        if self.mtp is not None and pe + "gate_up_proj" not in W and pe + "0.gate_proj.weight" in W:
            E = self.config.num_experts
            W[pe + "gate_up_proj"] = torch.stack(
                [torch.cat([W.pop(f"{pe}{e}.gate_proj.weight"), W.pop(f"{pe}{e}.up_proj.weight")], 0) for e in range(E)])
            W[pe + "down_proj"] = torch.stack([W.pop(f"{pe}{e}.down_proj.weight") for e in range(E)])
        if self.mtp is None:
            W = {k: v for k, v in W.items() if not k.startswith("mtp.")}
        W = {k: v for k, v in W.items() if not k.startswith("model.visual.")}
        missing, unexpected = self.load_state_dict(W, strict=False)
        if missing or unexpected:
            raise ValueError(f"checkpoint does not fit the config: missing {missing[:5]}, unexpected {unexpected[:5]}")

    @classmethod
    def from_pretrained(cls, model_dir: str | Path) -> "Qwen35Moe":
        model_dir = Path(model_dir)
        cfg = json.loads((model_dir / "config.json").read_text())
        m = cls(cfg)
        W: dict[str, torch.Tensor] = {}
        for f in sorted(model_dir.glob("model*.safetensors")):
            W.update(safetensors_io.load(f))
        m.load_hf_state_dict(W)
        return m.eval()

    def save_pretrained(self, model_dir: str | Path, dtype: str = "BF16") -> None:
        model_dir = Path(model_dir)
        model_dir.mkdir(parents=True, exist_ok=True)
        (model_dir / "config.json").write_text(json.dumps(self.config.raw, indent=2) + "\n")
        safetensors_io.save(model_dir / "model.safetensors", self.hf_state_dict(), dtype, keep_f32=("A_log",))
