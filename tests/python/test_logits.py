"""model.logits / model.hidden_states (Engine::score) against `tightfit logits` and the
fixture's reference logits (tests/data/tiny-qwen35moe-a: llama.cpp, agreeing with a float64
numpy pass to ~2e-5)."""

import json
import os
import subprocess

import numpy as np
import pytest

import tightfit
from conftest import BINARY, TEST_DATA, TEXT_MODEL, THREADS

FIXTURE = TEST_DATA / "tiny-qwen35moe-a"
SEQ16 = json.loads((FIXTURE / "tokens.json").read_text())["seq16"]


def worst_relative_l2(got, ref):
    """The largest per-row ‖got − ref‖ / ‖ref‖ (tests/cli's worst_relative_l2)."""
    return float(np.max(np.linalg.norm(got - ref, axis=1) / np.linalg.norm(ref, axis=1)))


@pytest.fixture(scope="module")
def fixture_model(tmp_path_factory):
    # The fixture checkpoint has no tokenizer; the engine loads one, so borrow the tiny
    # models' (the same 512-token vocabulary).
    folder = tmp_path_factory.mktemp("fixture-with-tokenizer")
    for name in ("config.json", "model.safetensors"):
        os.symlink(FIXTURE / name, folder / name)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        os.symlink((TEXT_MODEL / name).resolve(), folder / name)
    model, _ = tightfit.load(folder, threads=THREADS, vision=False)
    return model, folder


def test_logits_equal_the_cli_and_the_reference(fixture_model, tmp_path):
    model, _ = fixture_model
    logits = model.logits(SEQ16)
    assert logits.dtype == np.float32 and logits.shape == (16, 512)

    out = tmp_path / "cli.npy"
    subprocess.run([BINARY, "logits", "--model", str(FIXTURE), "--tokens", ",".join(map(str, SEQ16)),
                    "--threads", str(THREADS), "--out", str(out)], check=True, capture_output=True)
    cli = np.load(out)
    reference = np.load(FIXTURE / "logits_seq16.npy")
    # The same model code on the same tokens: the same numbers, bit for bit.
    np.testing.assert_array_equal(logits, cli)
    assert worst_relative_l2(logits, reference) <= 1e-3
    assert (logits.argmax(axis=1) == reference.argmax(axis=1)).all()


def test_first_row_and_hidden_states(fixture_model):
    model, _ = fixture_model
    logits = model.logits(SEQ16)
    tail = model.logits(SEQ16, first_row=10)
    assert tail.shape == (6, 512)
    np.testing.assert_allclose(tail, logits[10:], rtol=1e-4, atol=1e-4)
    hidden = model.hidden_states(SEQ16)
    assert hidden.dtype == np.float32 and hidden.shape == (16, model.info.hidden_size)
    assert np.isfinite(hidden).all() and np.abs(hidden).sum() > 0


def test_bad_scoring_input(fixture_model):
    model, _ = fixture_model
    with pytest.raises(ValueError, match="empty"):
        model.logits([])
    with pytest.raises(ValueError, match="first_row"):
        model.logits(SEQ16, first_row=16)
    with pytest.raises(ValueError):
        model.logits([1, 512])  # outside the vocabulary
    with pytest.raises(TypeError):
        model.logits(["a"])
