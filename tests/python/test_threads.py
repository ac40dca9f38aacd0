"""Several Python threads generating with one model at once: each gets the answer it gets
alone (greedy), and the GIL is released while the engine works."""

import threading
import time

import tightfit
from conftest import TEXT_MODEL, THREADS

OPTIONS = dict(max_tokens=60, temperature=0, ignore_eos=True, enable_thinking=False, loop_guard=False)
PROMPTS = ["First prompt.", "A different, second prompt."]


def test_two_threads_generate_at_once(text_model):
    model, processor = text_model
    alone = [tightfit.generate(model, processor, p, **OPTIONS) for p in PROMPTS]
    assert alone[0] != alone[1]

    results = [None, None]
    errors = []
    start = threading.Barrier(len(PROMPTS))

    def run(i):
        try:
            start.wait()
            results[i] = tightfit.generate(model, processor, PROMPTS[i], **OPTIONS)
        except BaseException as e:  # reported below, not lost in the thread
            errors.append(e)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(PROMPTS))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert results == alone


def test_the_gil_is_released_while_waiting_on_the_engine():
    # One sequence at a time: request B waits behind A, the main thread blocked in the engine.
    # Only another Python thread can end A (cancel), and it runs only if that wait released
    # the GIL; otherwise A would run to its max_tokens first.
    model, processor = tightfit.load(TEXT_MODEL, threads=THREADS, parallel=1)
    a = model.submit(prompt="Go", max_tokens=4000, ignore_eos=True, loop_guard=False)
    next(a)

    def cancel_a_once_b_waits():
        deadline = time.monotonic() + 30
        while model.stats().requests_queued < 1 and time.monotonic() < deadline:
            time.sleep(0.001)
        a.cancel()

    canceller = threading.Thread(target=cancel_a_once_b_waits)
    canceller.start()
    tightfit.generate(model, processor, "Me too.", max_tokens=3)
    canceller.join()
    assert list(a)[-1].stop == "cancelled"
