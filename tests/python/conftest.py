"""Shared fixtures of the Python tests: where the tiny models and the test data are (CTest sets
TIGHTFIT_MODELS / TIGHTFIT_TEST_DATA / TIGHTFIT_BINARY, tests/CMakeLists.txt), and the models,
loaded once per session."""

import os
from pathlib import Path

import pytest

import tightfit

SOURCE_DIR = Path(__file__).resolve().parents[2]
MODELS = Path(os.environ.get("TIGHTFIT_MODELS", SOURCE_DIR / "models"))
TEST_DATA = Path(os.environ.get("TIGHTFIT_TEST_DATA", SOURCE_DIR / "tests" / "data"))
BUILD_DIR = Path(os.environ.get("TIGHTFIT_BUILD_DIR", SOURCE_DIR / "build"))
BINARY = os.environ.get("TIGHTFIT_BINARY", str(BUILD_DIR / "tightfit"))

TEXT_MODEL = MODELS / "tiny-random"
VL_MODEL = MODELS / "tiny-random-vl"
IMAGE_64 = TEST_DATA / "tiny-qwen35moe-vl" / "img64x64.png"
IMAGE_96 = TEST_DATA / "tiny-qwen35moe-vl" / "img96x64.png"

# Enough of each test's work on CI's two cores: the tiny models decode thousands of tokens a
# second, so every generation here is short.
THREADS = 2


@pytest.fixture(scope="session")
def text_model():
    return tightfit.load(TEXT_MODEL, threads=THREADS)


@pytest.fixture(scope="session")
def vl_model():
    return tightfit.load(VL_MODEL, threads=THREADS)
