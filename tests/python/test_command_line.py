"""`python3 -m tightfit ...` runs the tightfit program's subcommands."""

import os
import subprocess
import sys

from conftest import BINARY, TEXT_MODEL


def run_module(*args, env=None):
    return subprocess.run([sys.executable, "-m", "tightfit", *args], capture_output=True, text=True,
                          env=env)


def test_python_m_tightfit_runs_the_cli():
    module = run_module("tokenize", "--model", str(TEXT_MODEL), "Hello world")
    direct = subprocess.run([BINARY, "tokenize", "--model", str(TEXT_MODEL), "Hello world"],
                            capture_output=True, text=True)
    assert module.returncode == direct.returncode == 0, module.stderr
    assert module.stdout == direct.stdout


def test_exit_codes_pass_through():
    result = run_module("generate", "--no-such-flag")
    assert result.returncode == 2
    assert "tightfit" in result.stderr


def test_the_binary_is_found_without_the_variable():
    # From the build tree: build/tightfit beside build/python/tightfit/.
    env = {k: v for k, v in os.environ.items() if k != "TIGHTFIT_BINARY"}
    result = run_module("--version", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("tightfit ")
