"""The documented install step (README "Python"): `cmake --install` puts the package where
the prefix's Python looks, and the installed package imports, runs and finds the program."""

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from conftest import BUILD_DIR, TEXT_MODEL


def test_cmake_install_into_a_prefix(tmp_path):
    if shutil.which("cmake") is None or not (BUILD_DIR / "cmake_install.cmake").is_file():
        pytest.skip("needs cmake and the build folder")
    prefix = tmp_path / "prefix"
    subprocess.run(["cmake", "--install", str(BUILD_DIR), "--prefix", str(prefix)], check=True,
                   capture_output=True)
    packages = [p.parent for p in prefix.rglob("tightfit/__init__.py")]
    assert len(packages) == 1
    site = packages[0].parent
    assert (prefix / "bin" / "tightfit").is_file()
    assert list((site / "tightfit").glob("_core*.so"))
    assert (site / "tightfit" / "py.typed").is_file() and (site / "tightfit" / "_core.pyi").is_file()

    env = {k: v for k, v in os.environ.items() if k not in ("TIGHTFIT_BINARY", "PYTHONPATH")}
    env["PYTHONPATH"] = str(site)
    env["PATH"] = "/usr/bin:/bin"  # the installed program must be found beside the package
    script = ("import tightfit, sys; m, p = tightfit.load(sys.argv[1], threads=1); "
              "print(tightfit.__file__); print(p.tokenizer.decode(p.tokenizer.encode('ok')))")
    result = subprocess.run([sys.executable, "-c", script, str(TEXT_MODEL)], env=env,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [str(site / "tightfit" / "__init__.py"), "ok"]
    version = subprocess.run([sys.executable, "-m", "tightfit", "--version"], env=env,
                             capture_output=True, text=True)
    assert version.returncode == 0, version.stderr
    assert version.stdout.startswith("tightfit ")
