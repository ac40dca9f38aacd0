"""Read and write safetensors files by hand (no `safetensors` package needed).

Format (docs/ of this repo restate it; upstream: https://github.com/huggingface/safetensors):
8-byte little-endian header length N, N bytes of JSON {name: {dtype, shape, data_offsets}},
then the raw little-endian, row-major data. BF16 is the top half of an IEEE f32.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import torch

_NUMPY = {"F32": "<f4", "F16": "<f2", "I32": "<i4", "I64": "<i8", "U32": "<u4", "U8": "u1", "F64": "<f8"}


def _bf16_bits_to_f32(bits: np.ndarray) -> np.ndarray:
    return (bits.astype(np.uint32) << 16).view(np.float32)


def _f32_to_bf16_bits(x: np.ndarray) -> np.ndarray:
    """Round to nearest even (the rule torch and numpy-based converters use)."""
    u = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32)
    return ((u + ((u >> 16) & 1) + np.uint32(0x7FFF)) >> 16).astype(np.uint16)


def load(path: str | Path) -> dict[str, torch.Tensor]:
    """All tensors of one file as float32 torch tensors (integer tensors keep their type)."""
    raw = Path(path).read_bytes()
    if len(raw) < 8:
        raise ValueError(f"{path}: too short for a safetensors file")
    n = struct.unpack("<Q", raw[:8])[0]
    if 8 + n > len(raw):
        raise ValueError(f"{path}: header length {n} runs past the end of the file")
    header = json.loads(raw[8:8 + n])
    out: dict[str, torch.Tensor] = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        begin, end = meta["data_offsets"]
        buf = raw[8 + n + begin: 8 + n + end]
        if meta["dtype"] == "BF16":
            arr = _bf16_bits_to_f32(np.frombuffer(buf, dtype="<u2"))
        elif meta["dtype"] in _NUMPY:
            arr = np.frombuffer(buf, dtype=_NUMPY[meta["dtype"]])
            if arr.dtype.kind == "f":
                arr = arr.astype(np.float32)
        else:
            raise ValueError(f"{path}: tensor {name} has unsupported dtype {meta['dtype']}")
        out[name] = torch.from_numpy(arr.reshape(meta["shape"]).copy())
    return out


def save(path: str | Path, tensors: dict[str, torch.Tensor], dtype: str = "BF16",
         keep_f32: tuple[str, ...] = ()) -> None:
    """Write float tensors as `dtype` (BF16 or F32), names sorted; names ending in one of
    `keep_f32` stay F32 (e.g. A_log, which converters keep in f32)."""
    header: dict = {"__metadata__": {"format": "pt"}}
    blobs = []
    off = 0
    for name in sorted(tensors):
        x = tensors[name].detach().to(torch.float32).contiguous().numpy()
        d = "F32" if (dtype == "F32" or name.endswith(keep_f32)) else "BF16"
        data = (x.astype("<f4") if d == "F32" else _f32_to_bf16_bits(x)).tobytes()
        header[name] = {"dtype": d, "shape": list(x.shape), "data_offsets": [off, off + len(data)]}
        blobs.append(data)
        off += len(data)
    hjson = json.dumps(header, separators=(",", ":")).encode()
    hjson += b" " * ((8 - len(hjson) % 8) % 8)
    tmp = Path(str(path) + ".tmp")
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(hjson)))
        f.write(hjson)
        for b in blobs:
            f.write(b)
    tmp.replace(path)
