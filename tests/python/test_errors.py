"""Every error kind reaches Python as an exception a Python user would catch, carrying the
engine's message: ModelNotFound → FileNotFoundError, InvalidRequest → ValueError (with
.param), OutOfMemory → MemoryError, Busy → tightfit.BusyError (a RuntimeError); all are
tightfit.Error."""

import numpy as np
import pytest

import tightfit
from conftest import IMAGE_64, TEST_DATA, TEXT_MODEL, THREADS


def test_the_hierarchy():
    assert issubclass(tightfit.Error, RuntimeError)
    assert issubclass(tightfit.InvalidRequestError, ValueError)
    assert issubclass(tightfit.ModelNotFoundError, FileNotFoundError)
    assert issubclass(tightfit.OutOfMemoryError, MemoryError)
    assert issubclass(tightfit.BusyError, RuntimeError)
    for cls in (tightfit.InvalidRequestError, tightfit.ModelNotFoundError,
                tightfit.OutOfMemoryError, tightfit.BusyError):
        assert issubclass(cls, tightfit.Error)


def test_model_not_found(tmp_path):
    with pytest.raises(FileNotFoundError) as e:
        tightfit.load(tmp_path / "no-such-model")
    assert isinstance(e.value, tightfit.ModelNotFoundError)
    assert "no-such-model" in str(e.value)
    with pytest.raises(tightfit.ModelNotFoundError):
        tightfit.load(TEST_DATA / "tiny-qwen35moe-a")  # no tokenizer.json


def test_invalid_requests(text_model):
    model, processor = text_model
    with pytest.raises(ValueError) as e:
        tightfit.generate(model, processor, "Hi", temperature=-1.0)
    assert isinstance(e.value, tightfit.InvalidRequestError)
    assert ">= 0" in str(e.value)  # the engine's message
    assert e.value.param is None or isinstance(e.value.param, str)
    with pytest.raises(tightfit.InvalidRequestError):
        tightfit.generate(model, processor, "Hi", image=str(IMAGE_64))  # a text-only model
    with pytest.raises(tightfit.InvalidRequestError):
        tightfit.generate(model, processor, [{"role": "wizard", "content": "Hi"}])
    with pytest.raises(tightfit.InvalidRequestError):
        model.submit(prompt_tokens=[1, 2, 100000])


def test_prompt_longer_than_the_context():
    model, processor = tightfit.load(TEXT_MODEL, threads=THREADS, context=32)
    with pytest.raises(tightfit.InvalidRequestError) as e:
        tightfit.generate(model, processor, "word " * 200)
    assert "context" in str(e.value)


def test_bad_images(vl_model, tmp_path):
    model, processor = vl_model
    missing = tmp_path / "missing.png"
    with pytest.raises(tightfit.InvalidRequestError) as e:
        tightfit.generate(model, processor, "What?", image=str(missing), max_tokens=2)
    assert "missing.png" in str(e.value)
    corrupt = tmp_path / "corrupt.png"
    corrupt.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    with pytest.raises(tightfit.InvalidRequestError):
        tightfit.generate(model, processor, "What?", image=str(corrupt), max_tokens=2)
    with pytest.raises(ValueError, match="uint8"):
        tightfit.generate(model, processor, "What?", image=np.zeros((8, 8, 3), np.float32))
    with pytest.raises(ValueError, match="shape"):
        tightfit.generate(model, processor, "What?", image=np.zeros((8, 8), np.uint8))
    with pytest.raises(TypeError):
        tightfit.generate(model, processor, "What?", image=42)
    # A rendered prompt without an image placeholder for the image given.
    templated = processor.apply_chat_template([{"role": "user", "content": "What?"}])
    with pytest.raises(tightfit.InvalidRequestError):
        tightfit.generate(model, processor, templated, image=str(IMAGE_64))
    with pytest.raises(TypeError, match="unexpected keyword"):
        model.submit(prompt="Hi", temprature=0.5)
    with pytest.raises(TypeError, match="max_tokens"):
        model.submit(prompt="Hi", max_tokens="many")


def test_submit_wants_exactly_one_prompt(text_model):
    model, _ = text_model
    with pytest.raises(ValueError):
        model.submit()
    with pytest.raises(ValueError):
        model.submit([{"role": "user", "content": "Hi"}], prompt="Hi")


def test_out_of_memory():
    try:
        tightfit.load(TEXT_MODEL, threads=THREADS, memory_limit=64 * 1024)
    except MemoryError as e:
        assert isinstance(e, tightfit.OutOfMemoryError)
        assert str(e)  # the plan's numbers
    else:
        pytest.skip("the engine does not apply memory_limit yet (no memory plan at load)")


def test_busy():
    # One sequence decoding and no queue: a second request is refused.
    model, processor = tightfit.load(TEXT_MODEL, threads=THREADS, parallel=1, max_queue=0)
    running = model.submit(prompt="Go", max_tokens=4000, ignore_eos=True, loop_guard=False)
    next(running)
    with pytest.raises(tightfit.BusyError) as e:
        model.submit(prompt="Me too", max_tokens=2)
    assert isinstance(e.value, RuntimeError) and str(e.value)
    running.cancel()
    assert list(running)[-1].stop == "cancelled"


def test_engine_errors_keep_their_message(tmp_path):
    # A config.json that is not JSON: a failure of the files, not of the request (a
    # RuntimeError, like tightfit.Error).
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "config.json").write_text("{ not json")
    for name in ("tokenizer.json", "tokenizer_config.json"):
        (folder / name).symlink_to((TEXT_MODEL / name).resolve())
    with pytest.raises(RuntimeError) as e:
        tightfit.load(folder)
    assert "config.json" in str(e.value)
