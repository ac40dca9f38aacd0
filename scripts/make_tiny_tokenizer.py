#!/usr/bin/env python3
"""Builds the 512-id tokenizer of the embedded demo model (models/tiny-random/).

The tiny random-weight checkpoint (tests/data/tiny-qwen35moe-a) has a 512-row vocabulary and no
tokenizer. This script cuts one out of the real Qwen3.5 tokenizer so that the whole pipeline
(chat template -> BPE -> model -> streaming decode) runs on it:

  * ids 0..255: the 256 byte-level symbols, unchanged (every UTF-8 text stays encodable);
  * ids 256..FIRST_SPECIAL-1: the earliest merges of the real tokenizer, in rank order (Qwen's
    merge of rank r produces id 256 + r, which the script checks);
  * ids FIRST_SPECIAL..511: the added tokens the Qwen3.5 chat template and the generation loop
    need, in the real tokenizer's order, so <|im_end|> (the end-of-turn token) lands on 511 --
    the tiny config's eos_token_id.

It also writes tokenizer_config.json: the real one with its added-token table renumbered (tokens
the tiny vocabulary lacks are dropped) and the real chat template embedded.

Standard library only. Run from the repository root:
    python3 scripts/make_tiny_tokenizer.py            # writes models/tiny-random/
"""

import argparse
import json
import os
import sys

VOCAB_SIZE = 512

# Added tokens kept, in the real tokenizer's id order; they take the last ids of the vocabulary.
KEPT_ADDED = [
    "<|endoftext|>",
    "<|im_start|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|image_pad|>",
    "<|video_pad|>",
    "<tool_call>",
    "</tool_call>",
    "<tool_response>",
    "</tool_response>",
    "<think>",
    "</think>",
    "<|im_end|>",
]
FIRST_SPECIAL = VOCAB_SIZE - len(KEPT_ADDED)


def load_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def write_json(path, value):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        json.dump(value, f, ensure_ascii=False, indent=2)
        f.write("\n")


def split_merge(merge):
    if isinstance(merge, list):
        return merge[0], merge[1]
    left, right = merge.split(" ")
    return left, right


def build_tokenizer(full):
    model = full["model"]
    vocab = model["vocab"]
    by_id = {i: token for token, i in vocab.items()}

    tiny_vocab = {}
    for i in range(256):
        tiny_vocab[by_id[i]] = i

    tiny_merges = []
    for rank, merge in enumerate(model["merges"]):
        new_id = 256 + rank
        if new_id >= FIRST_SPECIAL:
            break
        left, right = split_merge(merge)
        merged = left + right
        if vocab.get(merged) != new_id:
            sys.exit(f"merge {rank} ({left!r} + {right!r}) does not produce id {new_id}; "
                     "the source vocabulary is not in merge order")
        if left not in tiny_vocab or right not in tiny_vocab:
            sys.exit(f"merge {rank} uses a token outside the kept vocabulary")
        tiny_vocab[merged] = new_id
        tiny_merges.append([left, right])

    source_added = {t["content"]: t for t in full["added_tokens"]}
    tiny_added = []
    for offset, content in enumerate(KEPT_ADDED):
        if content not in source_added:
            sys.exit(f"{content} is not an added token of the source tokenizer")
        token = dict(source_added[content])
        token["id"] = FIRST_SPECIAL + offset
        tiny_added.append(token)

    tiny = {key: full[key] for key in full if key not in ("model", "added_tokens")}
    tiny["added_tokens"] = tiny_added
    tiny["model"] = {key: model[key] for key in model if key not in ("vocab", "merges")}
    tiny["model"]["vocab"] = tiny_vocab
    tiny["model"]["merges"] = tiny_merges
    # Keep the source's key order (version, truncation, padding, added_tokens, ...).
    return {key: tiny[key] for key in full}


def build_tokenizer_config(config, chat_template, added):
    ids = {t["content"]: t["id"] for t in added}
    out = {}
    for key, value in config.items():
        if key == "added_tokens_decoder":
            kept = [t for t in value.values() if t["content"] in ids]
            value = {str(ids[t["content"]]): t for t in sorted(kept, key=lambda t: ids[t["content"]])}
        elif key == "additional_special_tokens":
            value = [t for t in value if t in ids]
        elif key == "extra_special_tokens":
            value = {name: t for name, t in value.items() if t in ids}
        elif key == "model_max_length":
            value = 4096  # the tiny config's max_position_embeddings
        out[key] = value
    out["chat_template"] = chat_template
    return out


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    data = os.path.join(root, "tests", "data")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokenizer", default=os.path.join(
        data, "tokenizer", "qwen3.5-tokenizer.reconstructed.json"))
    parser.add_argument("--tokenizer-config", default=os.path.join(
        data, "tokenizer", "tokenizer_config.json"))
    parser.add_argument("--chat-template", default=os.path.join(
        data, "chat-template", "chat_template.jinja"))
    parser.add_argument("--out", default=os.path.join(root, "models", "tiny-random"))
    args = parser.parse_args()

    tiny = build_tokenizer(load_json(args.tokenizer))
    with open(args.chat_template, encoding="utf-8") as f:
        chat_template = f.read()
    tiny_config = build_tokenizer_config(load_json(args.tokenizer_config), chat_template,
                                         tiny["added_tokens"])

    os.makedirs(args.out, exist_ok=True)
    write_json(os.path.join(args.out, "tokenizer.json"), tiny)
    write_json(os.path.join(args.out, "tokenizer_config.json"), tiny_config)
    print(f"wrote {args.out}/tokenizer.json ({len(tiny['model']['vocab'])} vocabulary ids, "
          f"{len(tiny['model']['merges'])} merges, added tokens at ids "
          f"{FIRST_SPECIAL}..{VOCAB_SIZE - 1}) and tokenizer_config.json")


if __name__ == "__main__":
    main()
