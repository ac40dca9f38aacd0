"""tightfit.plan (include/tightfit/plan.h): the numbers `tightfit plan --json` prints, as a
MemoryPlan object with a readable repr and the table as str(); sizes as bytes or strings; the
errors a user can make; and OutOfMemoryError carrying the plan's numbers, from check_tokens
and from load."""

import json
import subprocess

import pytest

import tightfit
from conftest import BINARY, TEXT_MODEL, THREADS, VL_MODEL


def test_plan_equals_the_command_line_json():
    plan = tightfit.plan(str(TEXT_MODEL), memory="16GB", reserve="2GB", context=4096, parallel=2,
                         count_this_process=False)
    assert isinstance(plan, tightfit.MemoryPlan)
    # `tightfit plan` counts its own process; compare what does not depend on the process.
    printed = json.loads(subprocess.run(
        [BINARY, "plan", "--model", str(TEXT_MODEL), "--memory", "16GB", "--reserve", "2GB",
         "--context", "4096", "--parallel", "2", "--json"],
        check=True, capture_output=True, text=True).stdout)
    mine = plan.to_dict()
    for key in ("memory_bytes", "reserve_bytes", "limit_bytes", "kv_bits", "kv_bytes_per_token",
                "text_weight_bytes", "context", "parallel", "context_columns"):
        assert mine[key] == printed[key], key
    assert mine["items"][0] == printed["items"][0]
    assert plan.memory == 16_000_000_000 and plan.reserve == 2_000_000_000
    assert plan.limit == plan.memory - plan.reserve
    assert plan.context == 4096 and plan.parallel == 2 and plan.kv_bits == 16
    assert plan.weights_from == "checkpoint"
    assert plan.total == sum(item.bytes for item in plan.items)
    assert plan.text_weight_bytes > 0 and plan.kv_bytes_per_token > 0
    assert plan.fits and plan.headroom == plan.limit - plan.total
    assert [w.bits for w in plan.kv_widths] == [16, 8, 4, 2]
    assert all(len(w.total_at) == len(plan.context_columns) for w in plan.kv_widths)
    # Narrower KV: fewer bytes per token, at least as long a context.
    per_token = [w.bytes_per_token for w in plan.kv_widths]
    assert per_token == sorted(per_token, reverse=True)
    assert plan.max_tokens() > 0


def test_repr_and_table_are_readable():
    plan = tightfit.plan(str(TEXT_MODEL), memory=8 * 10**9, reserve=0, context=2048,
                         count_this_process=False)
    text = repr(plan)
    assert text.startswith("<tightfit.MemoryPlan ") and "2048 tokens" in text and "fits" in text
    assert " MB of a 8.00 GB limit" in text
    assert str(plan) == plan.to_text()
    assert str(plan).startswith("Memory plan for ") and "memory limit" in str(plan)
    assert repr(plan.items[0]).startswith("<tightfit.PlanItem ")
    assert repr(plan.kv_widths[0]).startswith("<tightfit.PlanKVWidth 16-bit")


def test_kv_bits_and_vision_change_the_plan():
    f16 = tightfit.plan(str(VL_MODEL), memory="8GB", context=1024, count_this_process=False)
    q4 = tightfit.plan(str(VL_MODEL), memory="8GB", context=1024, kv_bits=4, kv_group_size=32,
                       count_this_process=False)
    text_only = tightfit.plan(str(VL_MODEL), memory="8GB", context=1024, vision=False,
                              count_this_process=False)
    assert q4.kv_bits == 4 and q4.kv_bytes_per_token < f16.kv_bytes_per_token
    assert f16.vision_weight_bytes > 0 and text_only.total < f16.total


def test_a_config_and_a_recipe_plan_before_converting():
    plan = tightfit.plan(str(TEXT_MODEL / "config.json"), recipe="uniform-4", memory="4GB",
                         count_this_process=False)
    assert plan.weights_from.startswith("config + recipe")
    assert plan.text_weight_bytes > 0


def test_check_tokens_raises_memory_error_with_the_numbers():
    plan = tightfit.plan(str(TEXT_MODEL), memory="4GB", reserve="3.99GB", context=1024,
                         count_this_process=False)
    assert plan.fits and plan.limit == 10_000_000
    plan.check_tokens(plan.max_tokens())
    with pytest.raises(MemoryError) as e:
        plan.check_tokens(10**7)
    assert isinstance(e.value, tightfit.OutOfMemoryError)
    # The plan's numbers: what the tokens need, the limit, and how many fit.
    assert "10.0 MB" in str(e.value) and f"{plan.max_tokens():,} tokens fit" in str(e.value)
    short = tightfit.plan(str(TEXT_MODEL), memory="1MB", reserve=0, count_this_process=False)
    assert not short.fits and short.headroom < 0
    assert "DOES NOT FIT" in repr(short) and "DOES NOT FIT" in str(short)
    # The engine refuses to load a model its plan does not fit, with the same kind of message.
    with pytest.raises(tightfit.OutOfMemoryError) as e:
        tightfit.load(TEXT_MODEL, threads=THREADS, memory_limit=1000)
    assert any(ch.isdigit() for ch in str(e.value))


def test_errors():
    with pytest.raises(tightfit.ModelNotFoundError):
        tightfit.plan("/no/such/model")
    with pytest.raises(tightfit.InvalidRequestError):
        tightfit.plan(str(TEXT_MODEL), kv_bits=5)
    with pytest.raises(tightfit.InvalidRequestError):
        tightfit.plan(str(TEXT_MODEL / "config.json"), recipe="no-such-recipe")
    with pytest.raises(tightfit.InvalidRequestError) as e:
        tightfit.plan(str(TEXT_MODEL), memory="lots")
    assert "memory" in str(e.value)
    with pytest.raises(ValueError):
        tightfit.plan(str(TEXT_MODEL), memory=-1)
    with pytest.raises(TypeError):
        tightfit.plan(str(TEXT_MODEL), memory=1.5)


def test_draft_tokens_count_the_mtp_head():
    trained = str(TEXT_MODEL.parent / "tiny-qwen35")
    off = tightfit.plan(trained, memory="1GB", context=1000, count_this_process=False)
    on = tightfit.plan(trained, memory="1GB", context=1000, count_this_process=False,
                       draft_tokens=2)
    assert off.draft_tokens == 0 and off.mtp_kv_bytes_per_token == 0
    assert on.draft_tokens == 2 and on.mtp_kv_bytes_per_token > 0
    assert on.kv_bytes_per_token == off.kv_bytes_per_token + on.mtp_kv_bytes_per_token
    assert on.fixed_bytes == off.fixed_bytes + on.speculative_bytes_per_sequence
    assert "speculative decoding" in str(on)
