"""Several Python threads generating with one model at once: each gets the answer it gets
alone (greedy), and the GIL is released while the engine works."""

import threading

import tightfit

OPTIONS = dict(max_tokens=60, temperature=0, ignore_eos=True, enable_thinking=False)
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


def test_the_gil_is_released_while_the_engine_works(text_model):
    # A Python thread keeps counting while the main thread waits on a generation.
    model, processor = text_model
    counting = threading.Event()
    stop = threading.Event()
    count = [0]

    def count_up():
        counting.set()
        while not stop.is_set():
            count[0] += 1

    counter = threading.Thread(target=count_up)
    counter.start()
    counting.wait()
    before = count[0]
    tightfit.generate(model, processor, "Go.", max_tokens=200, ignore_eos=True, enable_thinking=False)
    during = count[0] - before
    stop.set()
    counter.join()
    assert during > 0
