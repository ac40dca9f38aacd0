"""Speculative decoding (MTP drafts) from Python on the trained model models/tiny-qwen35, which
keeps its MTP head: per request (submit's draft_tokens) or as the model's default (load's
draft_tokens), greedy output equal to plain decoding, usage.speculative counting the drafts per
position, and generate()'s result carrying the counts."""

import tightfit
from conftest import MODELS, THREADS

TRAINED = MODELS / "tiny-qwen35"
PROMPT = "The jury said that the city"


class Run:
    def __init__(self, events):
        self.tokens, self.text, self.usage = [], "", None
        for event in events:
            self.tokens += list(event.tokens)
            if event.kind == "done":
                self.usage = event.usage
            else:
                self.text += event.text


def run(model, **kwargs):
    return Run(model.submit(prompt=PROMPT, max_tokens=60, temperature=0, ignore_eos=True,
                            loop_guard=False, **kwargs))


def test_drafts_per_request_leave_the_greedy_output_unchanged():
    model, _ = tightfit.load(TRAINED, threads=THREADS)
    assert model.info.has_mtp
    plain = run(model)
    spec = run(model, draft_tokens=3)
    assert spec.tokens == plain.tokens and spec.text == plain.text
    s = spec.usage.speculative
    assert s.steps > 0 and s.drafts_accepted > 0
    assert len(s.proposed_at) == 3 and len(s.accepted_at) == 3
    assert sum(s.proposed_at) == s.drafts_proposed and sum(s.accepted_at) == s.drafts_accepted
    assert plain.usage.speculative.steps == 0


def test_the_load_default_and_generate_report_the_drafts():
    model, processor = tightfit.load(TRAINED, threads=THREADS, draft_tokens=2)
    by_default = run(model)
    off = run(model, draft_tokens=0)
    assert by_default.tokens == off.tokens
    assert len(by_default.usage.speculative.proposed_at) == 2
    assert off.usage.speculative.steps == 0
    last = None
    for chunk in tightfit.stream_generate(model, processor, "Q: What is the capital of France?",
                                          max_tokens=30, temperature=0):
        last = chunk
    assert last.finish_reason is not None
    assert last.drafts_proposed > 0 and 0 <= last.drafts_accepted <= last.drafts_proposed


def test_a_thinking_budget_speculates_with_the_same_output():
    model, _ = tightfit.load(TRAINED, threads=THREADS)
    prompt = "<|im_start|>user\nWhat is 2 + 2?<|im_end|>\n<|im_start|>assistant\n<think>\n"
    for budget in (1, 4):
        plain = Run(model.submit(prompt=prompt, max_tokens=30, temperature=0, thinking_budget=budget))
        spec = Run(model.submit(prompt=prompt, max_tokens=30, temperature=0, thinking_budget=budget,
                                draft_tokens=3))
        assert spec.tokens == plain.tokens and spec.text == plain.text
        assert spec.usage.speculative.steps > 0
