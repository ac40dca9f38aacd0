#!/usr/bin/python3
"""Byte-level BPE in the Qwen3.5 tokenizer's shape: train, encode, decode, write tokenizer.json.

The pipeline is the one docs/ describes for the real tokenizer (and Hugging Face `tokenizers`
runs): added tokens are matched whole first; the rest is NFC-normalised, split by Qwen3.5's
pre-tokenizer regex ("Isolated"), mapped to GPT-2's byte-to-unicode symbols, and each piece is
merged pair by pair, always the adjacent pair of lowest merge rank first. Ids 0..255 are the byte
symbols, id 256 + r is the result of merge r, the added tokens follow.

Needs Debian python3-regex (for \\p{L} etc.).

  bpe.py train --data train.jsonl --vocab 4000 --out DIR     writes DIR/tokenizer.json
"""

from __future__ import annotations

import argparse
import collections
import heapq
import json
import unicodedata
from pathlib import Path

import regex

PRETOKENIZE = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}"
               r"| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")

# Qwen3.5's 33 added tokens in their id order (docs: tokenizer table); special = hidden by
# skip_special_tokens.
ADDED_TOKENS = [
    ("<|endoftext|>", True), ("<|im_start|>", True), ("<|im_end|>", True),
    ("<|object_ref_start|>", True), ("<|object_ref_end|>", True), ("<|box_start|>", True), ("<|box_end|>", True),
    ("<|quad_start|>", True), ("<|quad_end|>", True), ("<|vision_start|>", True), ("<|vision_end|>", True),
    ("<|vision_pad|>", True), ("<|image_pad|>", True), ("<|video_pad|>", True), ("<tool_call>", False),
    ("</tool_call>", False), ("<|fim_prefix|>", False), ("<|fim_middle|>", False), ("<|fim_suffix|>", False),
    ("<|fim_pad|>", False), ("<|repo_name|>", False), ("<|file_sep|>", False), ("<tool_response>", False),
    ("</tool_response>", False), ("<think>", False), ("</think>", False), ("<|audio_start|>", True),
    ("<|audio_end|>", True), ("<tts_pad>", True), ("<tts_text_bos>", True), ("<tts_text_eod>", True),
    ("<tts_text_bos_single>", True), ("<|audio_pad|>", True),
]


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible byte -> printable character map."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


BYTE_SYMBOL = bytes_to_unicode()
SYMBOL_BYTE = {v: k for k, v in BYTE_SYMBOL.items()}
_PRE = regex.compile(PRETOKENIZE)
_ADDED = regex.compile("|".join(regex.escape(t) for t, _ in sorted(ADDED_TOKENS, key=lambda x: -len(x[0]))))


def split_added(text: str) -> list[tuple[str, bool]]:
    """[(piece, is_added_token)] in order."""
    out, pos = [], 0
    for m in _ADDED.finditer(text):
        if m.start() > pos:
            out.append((text[pos:m.start()], False))
        out.append((m.group(), True))
        pos = m.end()
    if pos < len(text):
        out.append((text[pos:], False))
    return out


def pretokens(text: str) -> list[str]:
    """Byte-symbol strings of the pre-tokenizer pieces of a text without added tokens."""
    text = unicodedata.normalize("NFC", text)
    return ["".join(BYTE_SYMBOL[b] for b in p.encode("utf-8")) for p in _PRE.findall(text)]


# ----------------------------------------------------------------------------- training

def train(texts, n_merges: int) -> list[tuple[str, str]]:
    counts: collections.Counter = collections.Counter()
    for t in texts:
        for piece, added in split_added(t):
            if not added:
                counts.update(pretokens(piece))
    words = [list(w) for w in counts]
    freq = [counts[w] for w in counts]
    pair_count: collections.Counter = collections.Counter()
    where: dict = collections.defaultdict(set)
    for i, w in enumerate(words):
        for a, b in zip(w, w[1:]):
            pair_count[(a, b)] += freq[i]
            where[(a, b)].add(i)
    heap = [(-c, p) for p, c in pair_count.items()]
    heapq.heapify(heap)
    merges = []
    while len(merges) < n_merges and heap:
        c, p = heapq.heappop(heap)
        if -c != pair_count.get(p, 0) or -c <= 0:
            continue                                   # stale entry
        merges.append(p)
        new = p[0] + p[1]
        touched = collections.Counter()
        for i in list(where[p]):
            w = words[i]
            f = freq[i]
            for a, b in zip(w, w[1:]):                 # remove the word's old pairs
                pair_count[(a, b)] -= f
                touched[(a, b)] += 0
            j, out = 0, []
            while j < len(w):
                if j + 1 < len(w) and w[j] == p[0] and w[j + 1] == p[1]:
                    out.append(new)
                    j += 2
                else:
                    out.append(w[j])
                    j += 1
            words[i] = out
            for a, b in zip(out, out[1:]):             # add the new ones
                pair_count[(a, b)] += f
                where[(a, b)].add(i)
                touched[(a, b)] += 0
        del where[p]
        pair_count.pop(p, None)
        for q in touched:
            if q != p and pair_count.get(q, 0) > 0:
                heapq.heappush(heap, (-pair_count[q], q))
    return merges


# ----------------------------------------------------------------------------- encoder

class Tokenizer:
    def __init__(self, tokenizer_json: dict):
        m = tokenizer_json["model"]
        self.vocab: dict[str, int] = m["vocab"]
        self.ranks = {tuple(p): r for r, p in enumerate(m["merges"])}
        self.added = {t["content"]: t["id"] for t in tokenizer_json["added_tokens"]}
        self.id_to_token = {i: t for t, i in self.vocab.items()}
        self.id_to_token.update({i: t for t, i in self.added.items()})
        self.cache: dict[str, list[int]] = {}

    @classmethod
    def load(cls, path: str | Path) -> "Tokenizer":
        return cls(json.loads(Path(path).read_text()))

    def bpe(self, word: str) -> list[int]:
        if word in self.cache:
            return self.cache[word]
        parts = list(word)
        while len(parts) > 1:
            best = min(range(len(parts) - 1), key=lambda i: self.ranks.get((parts[i], parts[i + 1]), 1 << 30))
            if (parts[best], parts[best + 1]) not in self.ranks:
                break
            parts[best:best + 2] = [parts[best] + parts[best + 1]]
        ids = [self.vocab[p] for p in parts]
        self.cache[word] = ids
        return ids

    def encode(self, text: str) -> list[int]:
        ids: list[int] = []
        for piece, added in split_added(text):
            if added:
                ids.append(self.added[piece])
            else:
                for w in pretokens(piece):
                    ids.extend(self.bpe(w))
        return ids

    def decode(self, ids) -> str:
        out, buf = [], bytearray()
        for i in ids:
            t = self.id_to_token[int(i)]
            if t in self.added:
                out.append(buf.decode("utf-8", "replace"))
                buf = bytearray()
                out.append(t)
            else:
                buf.extend(SYMBOL_BYTE[ch] for ch in t)
        out.append(buf.decode("utf-8", "replace"))
        return "".join(out)


def tokenizer_json(merges: list[tuple[str, str]]) -> dict:
    vocab = {s: i for i, s in enumerate(BYTE_SYMBOL.values())}
    for a, b in merges:
        vocab[a + b] = len(vocab)
    first = len(vocab)
    added = [{"id": first + i, "content": t, "single_word": False, "lstrip": False, "rstrip": False,
              "normalized": False, "special": s} for i, (t, s) in enumerate(ADDED_TOKENS)]
    bl = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}
    return {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": added,
        "normalizer": {"type": "NFC"},
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": PRETOKENIZE}, "behavior": "Isolated", "invert": False}, dict(bl)]},
        "post_processor": dict(bl), "decoder": dict(bl),
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
                  "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                  "vocab": vocab, "merges": [[a, b] for a, b in merges]},
    }


def tokenizer_config(tok_json: dict, qwen_config: dict, chat_template: str) -> dict:
    """Qwen3.5's tokenizer_config.json with the added-token table renumbered to our ids and the
    Qwen3.5 chat template embedded."""
    ids = {t["content"]: t["id"] for t in tok_json["added_tokens"]}
    out = dict(qwen_config)
    out["added_tokens_decoder"] = {str(ids[v["content"]]): v for v in qwen_config["added_tokens_decoder"].values()}
    out["model_max_length"] = 4096
    out["chat_template"] = chat_template
    return out


def generation_config(tok_json: dict) -> dict:
    """Qwen3.5's generation_config.json (docs: eos = [<|im_end|>, <|endoftext|>]) with our ids."""
    ids = {t["content"]: t["id"] for t in tok_json["added_tokens"]}
    eot, eos = ids["<|endoftext|>"], ids["<|im_end|>"]
    return {"bos_token_id": eot, "do_sample": True, "eos_token_id": [eos, eot], "pad_token_id": eot,
            "temperature": 1.0, "top_k": 20, "top_p": 0.95}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train")
    t.add_argument("--data", required=True, type=Path, help="train.jsonl of make_data.py")
    t.add_argument("--vocab", type=int, default=4000, help="ordinary (BPE) vocabulary size incl. the 256 bytes")
    t.add_argument("--out", required=True, type=Path)
    f = sub.add_parser("folder", help="write tokenizer_config.json and generation_config.json next to tokenizer.json")
    f.add_argument("--dir", required=True, type=Path, help="folder holding tokenizer.json")
    f.add_argument("--qwen-tokenizer-config", required=True, type=Path, help="Qwen3.5's tokenizer_config.json")
    f.add_argument("--chat-template", required=True, type=Path, help="Qwen3.5's chat_template.jinja")
    a = ap.parse_args()
    if a.cmd == "folder":
        tj = json.loads((a.dir / "tokenizer.json").read_text())
        tc = tokenizer_config(tj, json.loads(a.qwen_tokenizer_config.read_text()), a.chat_template.read_text())
        (a.dir / "tokenizer_config.json").write_text(json.dumps(tc, indent=2, ensure_ascii=False) + "\n")
        (a.dir / "generation_config.json").write_text(json.dumps(generation_config(tj), indent=2) + "\n")
        return 0
    texts = [json.loads(l)["text"] for l in a.data.open()]
    merges = train(texts, a.vocab - 256)
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / "tokenizer.json").write_text(json.dumps(tokenizer_json(merges), ensure_ascii=False, indent=1) + "\n")
    print(f"{len(merges)} merges, vocabulary {256 + len(merges)} + {len(ADDED_TOKENS)} added tokens")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
