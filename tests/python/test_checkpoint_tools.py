"""tightfit.inspect and tightfit.convert (include/tightfit/inspect.h, convert.h): the same
reports as `tightfit inspect --json` / `tightfit convert --report-json`, as dicts."""

import json
import subprocess

import pytest

import tightfit
from conftest import BINARY, TEST_DATA, TEXT_MODEL, THREADS

FIXTURE = TEST_DATA / "tiny-qwen35moe-a"


def test_inspect_equals_the_cli(tmp_path):
    report = tightfit.inspect(str(TEXT_MODEL))
    cli = json.loads(subprocess.run([BINARY, "inspect", "--json", str(TEXT_MODEL)], check=True,
                                    capture_output=True, text=True).stdout)
    assert report == cli
    assert report["config"]["text"]["num_hidden_layers"] == 4
    assert report["summary"]["total"]["params"] > 0


def test_inspect_errors(tmp_path):
    with pytest.raises(tightfit.ModelNotFoundError):
        tightfit.inspect(str(tmp_path / "nothing-here"))
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all")
    with pytest.raises(RuntimeError, match="bad.safetensors"):
        tightfit.inspect(str(bad))


def test_convert_dry_run_and_real(tmp_path):
    plan = tightfit.convert(str(FIXTURE), dry_run=True, recipe="uniform-4")
    assert plan["dry_run"] is True
    assert 4.0 < plan["bits_per_weight"] < 8.0
    out = tmp_path / "q4"
    report = tightfit.convert(str(FIXTURE), str(out), recipe="uniform-4", threads=THREADS)
    assert report["dry_run"] is False
    assert (out / "config.json").is_file()
    assert report["bits_per_weight"] == pytest.approx(plan["bits_per_weight"])
    # The output is a model inspect reads back with the same bits per weight.
    assert tightfit.inspect(str(out))["summary"]["bits_per_weight"] == pytest.approx(report["bits_per_weight"])
    # Converting again over it needs force=True.
    with pytest.raises(tightfit.InvalidRequestError):
        tightfit.convert(str(FIXTURE), str(out), recipe="uniform-4")
    tightfit.convert(str(FIXTURE), str(out), recipe="uniform-4", force=True, threads=THREADS)


def test_convert_errors(tmp_path):
    with pytest.raises(tightfit.InvalidRequestError, match="recipe"):
        tightfit.convert(str(FIXTURE), dry_run=True, recipe="no-such-recipe")
    with pytest.raises(tightfit.InvalidRequestError, match="output"):
        tightfit.convert(str(FIXTURE))
    with pytest.raises(tightfit.InvalidRequestError, match="group_size"):
        tightfit.convert(str(FIXTURE), dry_run=True, group_size=48)
    with pytest.raises(tightfit.ModelNotFoundError):
        tightfit.convert(str(tmp_path / "nothing"), dry_run=True)


def test_builtin_recipes():
    names = dict(tightfit.builtin_recipes())
    assert "dynamic" in names and names["dynamic"]
