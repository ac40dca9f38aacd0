"""tightfit.load's engine options: kv_group_size, prompt_cache, prefill_chunk, context,
parallel, sizes as strings, mlock and the memory plan in info, and the refusals (bad group
size, draft_tokens > 0 without an MTP head)."""

import numpy as np
import pytest

import tightfit
from conftest import TEXT_MODEL, THREADS

TEXT = "The quick brown fox jumps over the lazy dog while the cat sleeps in the sun all day"


def test_kv_group_size_and_kv_bits_reach_the_cache():
    def logits(**options):
        model, processor = tightfit.load(TEXT_MODEL, threads=THREADS, **options)
        return model, model.logits(processor.tokenizer.encode(TEXT))

    model, f16 = logits()
    assert model.info.kv_type == "f16" and model.info.layout in ("Hugging Face", "mlx-vlm", "mlx-lm")
    model, q4 = logits(kv_bits=4, kv_group_size=32)
    assert model.info.kv_type == "q4"
    # A 4-bit cache holds other values than the f16 one: the rows after the first differ.
    assert q4.shape == f16.shape and not np.allclose(q4[1:], f16[1:], atol=1e-6)
    # The tiny models' heads are 32 wide: a group never spans more than one head row, so
    # groups of 64 and 128 quantize exactly as 32 does.
    for group in (64, 128):
        np.testing.assert_array_equal(logits(kv_bits=4, kv_group_size=group)[1], q4)


def test_bad_kv_group_size_names_the_option():
    with pytest.raises(tightfit.InvalidRequestError) as e:
        tightfit.load(TEXT_MODEL, threads=THREADS, kv_bits=4, kv_group_size=48)
    assert e.value.param == "kv_group_size" and "32, 64 or 128" in str(e.value)


def test_prompt_cache_off_and_on():
    chat = [{"role": "user", "content": "Name a colour."}]
    off, processor = tightfit.load(TEXT_MODEL, threads=THREADS, prompt_cache=0)
    on, _ = tightfit.load(TEXT_MODEL, threads=THREADS, prompt_cache="64MiB")
    for model in (off, on):
        for _ in range(2):
            tightfit.generate(model, processor, chat, max_tokens=2, temperature=0)
    assert off.stats().prompt_cache_hits == 0 and off.stats().prompt_cache_bytes == 0
    assert on.stats().prompt_cache_hits >= 1 and on.stats().prompt_cache_bytes > 0
    with pytest.raises(tightfit.InvalidRequestError):
        tightfit.load(TEXT_MODEL, threads=THREADS, prompt_cache="a lot")
    with pytest.raises(TypeError):
        tightfit.load(TEXT_MODEL, threads=THREADS, prompt_cache=[1])


def test_context_parallel_and_prefill_chunk():
    model, processor = tightfit.load(TEXT_MODEL, threads=THREADS, context=64, parallel=1,
                                     prefill_chunk=4, memory_limit="8GB")
    assert model.info.context_length == 64
    ids = processor.tokenizer.encode(TEXT)
    # Prefilled 4 tokens at a time: the same logits as the default chunk.
    whole, _ = tightfit.load(TEXT_MODEL, threads=THREADS, context=64)
    np.testing.assert_allclose(model.logits(ids), whole.logits(ids), rtol=1e-4, atol=1e-4)
    with pytest.raises(tightfit.InvalidRequestError):
        model.logits(ids * 10)  # more tokens than the context


def test_draft_tokens_needs_an_mtp_head():
    for off in (None, -1, 0):
        model, _ = tightfit.load(TEXT_MODEL, threads=THREADS, draft_tokens=off)
        assert model.info.name and not model.info.has_mtp
    with pytest.raises(tightfit.InvalidRequestError) as e:
        tightfit.load(TEXT_MODEL, threads=THREADS, draft_tokens=2)
    assert e.value.param == "draft_tokens" and "multi-token-prediction head" in str(e.value)
    model, _ = tightfit.load(TEXT_MODEL, threads=THREADS)
    with pytest.raises(tightfit.InvalidRequestError) as e:
        model.submit(prompt="hi", max_tokens=2, draft_tokens=2)
    assert e.value.param == "draft_tokens"


def test_memory_plan_fields_and_mlock():
    model, _ = tightfit.load(TEXT_MODEL, threads=THREADS, memory_limit="8GB", mlock=True)
    info = model.info
    assert info.memory_limit == 8 * 10**9 or info.memory_limit == 8 << 30
    assert 0 < info.memory_fixed < info.memory_limit
    assert info.kv_bytes_per_token > 0
    # What the limit leaves after the fixed part holds memory_tokens KV tokens.
    left = info.memory_limit - info.memory_fixed
    assert info.memory_tokens == left // info.kv_bytes_per_token or \
        abs(info.memory_tokens * info.kv_bytes_per_token - left) <= info.kv_bytes_per_token
    # mlock may be refused by RLIMIT_MEMLOCK; either way it is reported, not an error.
    assert isinstance(info.weights_locked, bool)
    plain, _ = tightfit.load(TEXT_MODEL, threads=THREADS)
    assert plain.info.weights_locked is False
