"""The documented install routes (README "Python"): `cmake --install` puts the package where
the prefix's Python looks, and `pip install --no-build-isolation .` into a virtual environment;
each installed package imports and runs from a fresh interpreter and finds the program."""

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


def test_pip_install_into_a_virtual_environment(tmp_path):
    """README's pip route: a venv over Debian's packages (numpy, setuptools), then
    `pip install --no-build-isolation .` with no package index; setup.py reuses this build
    folder (TIGHTFIT_CMAKE_BUILD_DIR) so the test does not compile the engine again."""
    if not (BUILD_DIR / "CMakeCache.txt").is_file() or shutil.which("cmake") is None:
        pytest.skip("needs cmake and the build folder")
    venv = tmp_path / "venv"
    made = subprocess.run(["/usr/bin/python3", "-m", "venv", "--system-site-packages", str(venv)],
                          capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip("python3 -m venv is unavailable (Debian: python3-venv): " + made.stderr[-200:])
    env = {k: v for k, v in os.environ.items() if k not in ("TIGHTFIT_BINARY", "PYTHONPATH")}
    env["TIGHTFIT_CMAKE_BUILD_DIR"] = str(BUILD_DIR)
    env["PIP_NO_INDEX"] = "1"  # nothing may be downloaded
    source = BUILD_DIR.parent if (BUILD_DIR.parent / "setup.py").is_file() else Path(__file__).resolve().parents[2]
    installed = subprocess.run([str(venv / "bin" / "pip"), "install", "--no-build-isolation", str(source)],
                               env=env, capture_output=True, text=True)
    assert installed.returncode == 0, installed.stdout[-3000:] + installed.stderr[-3000:]

    del env["TIGHTFIT_CMAKE_BUILD_DIR"]
    env["PATH"] = "/usr/bin:/bin"  # the installed program must be found beside the package
    python = str(venv / "bin" / "python3")
    script = ("import tightfit, sys; m, p = tightfit.load(sys.argv[1], threads=1); "
              "print(tightfit.__file__); print(p.tokenizer.decode(p.tokenizer.encode('ok'))); "
              "print(tightfit.plan(sys.argv[1], memory='8GB', count_this_process=False).fits)")
    result = subprocess.run([python, "-c", script, str(TEXT_MODEL)], env=env, cwd=tmp_path,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    path, decoded, fits = result.stdout.splitlines()
    assert Path(path).is_relative_to(venv) and decoded == "ok" and fits == "True"
    assert (venv / "bin" / "tightfit").is_file() and os.access(venv / "bin" / "tightfit", os.X_OK)
    assert list(Path(path).parent.glob("_core*.so")) and (Path(path).parent / "_core.pyi").is_file()
    version = subprocess.run([python, "-m", "tightfit", "--version"], env=env, cwd=tmp_path,
                             capture_output=True, text=True)
    assert version.returncode == 0, version.stderr
    assert version.stdout.startswith("tightfit ")
