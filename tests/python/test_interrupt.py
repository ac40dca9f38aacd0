"""Ctrl-C (SIGINT → KeyboardInterrupt) during a generation: it is raised while the C++ engine
is still working, the request is cancelled, and the model keeps serving."""

import _thread
import threading
import time

import pytest

import tightfit
from conftest import TEXT_MODEL, THREADS

LONG = dict(max_tokens=4000, ignore_eos=True, enable_thinking=False, loop_guard=False)


def wait_until(condition, seconds=30.0):
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.005)


def test_ctrl_c_during_a_streamed_generation(text_model):
    model, processor = text_model
    chunks = []
    with pytest.raises(KeyboardInterrupt):
        for chunk in tightfit.stream_generate(model, processor, "Go on.", **LONG):
            chunks.append(chunk)
            if len(chunks) == 1:
                _thread.interrupt_main()  # what Ctrl-C does: SIGINT's handler raises
    assert chunks and all(c.finish_reason is None for c in chunks)
    wait_until(lambda: model.stats().requests_active == 0)
    assert tightfit.generate(model, processor, "Again.", max_tokens=3, temperature=0) is not None


def test_ctrl_c_while_waiting_inside_the_engine():
    # One sequence at a time: a second request waits in the queue, the main thread blocked in
    # the engine (GIL released) with no events coming. Ctrl-C must still get through.
    model, processor = tightfit.load(TEXT_MODEL, threads=THREADS, parallel=1)
    busy = model.submit([{"role": "user", "content": "Keep going."}], **LONG)
    first = next(busy)  # the slot is taken
    assert first.kind in ("answer", "reasoning")

    def interrupt_once_queued():
        wait_until(lambda: model.stats().requests_queued >= 1)
        _thread.interrupt_main()

    watcher = threading.Thread(target=interrupt_once_queued)
    watcher.start()
    with pytest.raises(KeyboardInterrupt):
        tightfit.generate(model, processor, "Me too.", max_tokens=5)
    watcher.join()
    busy.cancel()
    events = list(busy)
    assert events[-1].kind == "done" and events[-1].stop == "cancelled"
    wait_until(lambda: model.stats().requests_queued == 0 and model.stats().requests_active == 0)
