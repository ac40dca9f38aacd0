"""generate / stream_generate: streaming gives the same text as generate at temperature 0,
every image form gives the same answer as the file, the prompt forms, stop strings."""

import numpy as np
import pytest

import tightfit
from conftest import IMAGE_64, IMAGE_96

# Thinking off: the random models never close a <think> block, so everything would be reasoning.
GREEDY = dict(max_tokens=40, temperature=0, ignore_eos=True, enable_thinking=False, loop_guard=False)


def test_streaming_equals_generate_at_temperature_0(text_model):
    model, processor = text_model
    text = tightfit.generate(model, processor, "Name three colours.", **GREEDY)
    chunks = list(tightfit.stream_generate(model, processor, "Name three colours.", **GREEDY))
    final = chunks[-1]
    assert final.finish_reason == "max_tokens"
    assert all(c.finish_reason is None for c in chunks[:-1])
    assert "".join(c.text for c in chunks[:-1] if not c.is_reasoning) == text
    # Every generated token is in exactly one chunk.
    assert sum(len(c.tokens) for c in chunks[:-1]) == final.generation_tokens == 40
    assert all(c.token == c.tokens[-1] for c in chunks[:-1] if c.tokens)
    assert final.prompt_tokens > 0 and final.generation_tps > 0 and final.peak_memory > 0


def test_streaming_equals_generate_with_an_image(vl_model):
    model, processor = vl_model
    kwargs = dict(image=str(IMAGE_64), **GREEDY)
    text = tightfit.generate(model, processor, "What is this?", **kwargs)
    streamed = "".join(c.text for c in tightfit.stream_generate(model, processor, "What is this?", **kwargs)
                       if not c.is_reasoning)
    assert streamed == text


def test_every_image_form_gives_the_same_answer(vl_model):
    PIL = pytest.importorskip("PIL.Image")
    model, processor = vl_model
    pil_image = PIL.open(IMAGE_64)
    forms = {
        "path str": str(IMAGE_64),
        "PathLike": IMAGE_64,
        "encoded bytes": IMAGE_64.read_bytes(),
        "numpy uint8 HxWx3": np.asarray(pil_image.convert("RGB")),
        "PIL image (RGBA converted)": pil_image.convert("RGBA"),
    }
    answers = {name: tightfit.generate(model, processor, "Describe.", image=form, **GREEDY)
               for name, form in forms.items()}
    assert len(set(answers.values())) == 1, answers


def test_a_rendered_prompt_with_its_image(vl_model):
    # mlx-vlm's way: render the template first, then generate with the image.
    model, processor = vl_model
    messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "What?"}]}]
    rendered = processor.apply_chat_template(messages, enable_thinking=False)
    assert rendered.count("<|image_pad|>") == 1
    a = tightfit.generate(model, processor, rendered, image=str(IMAGE_64), **GREEDY)
    b = tightfit.generate(model, processor, "What?", image=str(IMAGE_64), **GREEDY)
    assert a == b


def test_a_list_of_images(vl_model):
    model, processor = vl_model
    chunks = list(tightfit.stream_generate(model, processor, "Compare.",
                                           image=[str(IMAGE_64), str(IMAGE_96)], max_tokens=4))
    one = list(tightfit.stream_generate(model, processor, "Compare.", image=str(IMAGE_64), max_tokens=4))
    assert chunks[-1].prompt_tokens > one[-1].prompt_tokens


def test_prompt_forms_agree(text_model):
    # A plain prompt is one user message; the same messages as a list, or the prompt the chat
    # template makes of them, give the same greedy answer.
    model, processor = text_model
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi!"}]
    plain = tightfit.generate(model, processor, "Hi!", system="Be brief.", **GREEDY)
    listed = tightfit.generate(model, processor, messages, **GREEDY)
    rendered = processor.apply_chat_template(messages, enable_thinking=False)
    templated = tightfit.generate(model, processor, rendered, **GREEDY)
    assert plain == listed == templated


def test_stop_string_ends_the_answer(text_model):
    model, processor = text_model
    text = tightfit.generate(model, processor, "Count.", **GREEDY)
    assert len(text) > 4
    stop = text[2:4]
    chunks = list(tightfit.stream_generate(model, processor, "Count.", stop=stop, **GREEDY))
    assert chunks[-1].finish_reason == "stop_string"
    assert stop not in "".join(c.text for c in chunks)


def test_seeded_sampling_repeats(text_model):
    model, processor = text_model
    a = tightfit.generate(model, processor, "Go.", max_tokens=20, temperature=1.0, seed=7,
                          enable_thinking=False, ignore_eos=True)
    b = tightfit.generate(model, processor, "Go.", max_tokens=20, temperature=1.0, seed=7,
                          enable_thinking=False, ignore_eos=True)
    assert a
    assert a == b


def test_leaving_the_loop_cancels_the_request(text_model):
    model, processor = text_model
    for chunk in tightfit.stream_generate(model, processor, "Go on.", max_tokens=3000, ignore_eos=True, loop_guard=False):
        break
    # The request was cancelled, not left running: the engine is free again.
    assert tightfit.generate(model, processor, "Again.", max_tokens=4, temperature=0) is not None
    stats = model.stats()
    assert stats.requests_active == 0 and stats.requests_queued == 0


def test_verbose_prints_the_text_and_statistics(text_model, capsys):
    model, processor = text_model
    text = tightfit.generate(model, processor, "Hello", verbose=True, **GREEDY)
    out = capsys.readouterr().out
    assert text in out
    assert "Prompt:" in out and "tokens-per-sec" in out and "Peak memory:" in out
