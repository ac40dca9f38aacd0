"""The pip route to the Python package (pyproject.toml): `pip install --no-build-isolation .`
builds the `tightfit._core` module and the `tightfit` program with CMake — the same build as
`cmake -S . -B build` (python/CMakeLists.txt), so no logic or flags live here — and packs them
with the pure-Python files of python/tightfit/. The program goes to PREFIX/bin, where
`python3 -m tightfit` finds it (python/tightfit/__main__.py).

Environment: TIGHTFIT_CMAKE_BUILD_DIR, the CMake build folder to use (default build/pip; an
existing configured folder is only rebuilt); CMAKE_ARGS, more configure arguments."""

import os
import shlex
import subprocess
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

SOURCE = Path(__file__).resolve().parent
BUILD = Path(os.environ.get("TIGHTFIT_CMAKE_BUILD_DIR", SOURCE / "build" / "pip")).resolve()


class CMakeBuild(build_ext):
    """Builds the CMake targets and copies the module where setuptools packs extensions."""

    def build_extension(self, ext):
        if not (BUILD / "CMakeCache.txt").is_file():
            subprocess.run(["cmake", "-S", str(SOURCE), "-B", str(BUILD), "-DCMAKE_BUILD_TYPE=Release",
                            "-DTIGHTFIT_PYTHON=ON", "-DTIGHTFIT_BUILD_TESTS=OFF", "-DTIGHTFIT_BUILD_BENCH=OFF",
                            f"-DPython3_EXECUTABLE={sys.executable}",
                            *shlex.split(os.environ.get("CMAKE_ARGS", ""))], check=True)
        subprocess.run(["cmake", "--build", str(BUILD), "--target", "tightfit_python", "tightfit"], check=True)
        built = sorted((BUILD / "python" / "tightfit").glob("_core*.so"))
        if not built:
            sys.exit(f"setup.py: the CMake build in {BUILD} made no tightfit/_core*.so")
        target = Path(self.get_ext_fullpath(ext.name))
        target.parent.mkdir(parents=True, exist_ok=True)
        self.copy_file(str(built[-1]), str(target))


setup(
    packages=["tightfit"],
    package_dir={"tightfit": "python/tightfit"},
    package_data={"tightfit": ["*.pyi", "py.typed"]},
    ext_modules=[Extension("tightfit._core", sources=[])],
    cmdclass={"build_ext": CMakeBuild},
    # The program, built by build_ext above (install_data runs after it).
    data_files=[("bin", [os.path.relpath(BUILD / "tightfit", SOURCE)])],
    # setuptools' own scratch folder, apart from the CMake build folders.
    options={"build": {"build_base": "build/setuptools"}},
    zip_safe=False,
)
