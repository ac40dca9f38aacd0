"""processor.apply_chat_template and processor.tokenizer."""

import pytest

import tightfit


def test_chat_template(text_model):
    model, processor = text_model
    messages = [{"role": "user", "content": "Hello"}]
    text = processor.apply_chat_template(messages, add_generation_prompt=True)
    assert text.startswith("<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n")
    assert text.endswith("<think>\n")
    no_think = processor.apply_chat_template(messages, enable_thinking=False)
    assert no_think.endswith("<think>\n\n</think>\n\n")
    without = processor.apply_chat_template(messages, add_generation_prompt=False)
    assert "assistant" not in without
    assert processor.apply_chat_template(messages, tokenize=True) == processor.tokenizer.encode(text)


def test_image_parts_become_vision_placeholders(vl_model):
    from conftest import IMAGE_64
    model, processor = vl_model
    messages = [{"role": "user", "content": [{"type": "image", "image": str(IMAGE_64)},
                                             {"type": "text", "text": "What?"}]}]
    text = processor.apply_chat_template(messages)
    assert "<|vision_start|>" in text and "<|vision_end|>" in text


def test_tokenizer_round_trip(text_model):
    model, processor = text_model
    tok = processor.tokenizer
    ids = tok.encode("Hello world")
    assert ids and all(isinstance(i, int) for i in ids)
    assert tok.decode(ids) == "Hello world"
    assert 511 in tok.eos_token_ids
    assert tok.vocab_size == model.info.vocab_size == 512
    special = tok.encode("<|im_end|>")
    assert special == [511]
    assert tok.decode(special) == ""
    assert tok.decode(special, skip_special_tokens=False) == "<|im_end|>"


def test_model_info(text_model, vl_model):
    text, _ = text_model
    vl, _ = vl_model
    assert text.info.layers == 4 and text.info.hidden_size == 64
    assert not text.info.has_vision and vl.info.has_vision
    assert "tiny-random" in repr(text.info) and "tiny-random" in repr(text)


def test_malformed_messages_are_type_errors(text_model):
    _, processor = text_model
    with pytest.raises(TypeError):
        processor.apply_chat_template("Hello")
    with pytest.raises(TypeError):
        processor.apply_chat_template([("user", "Hello")])
    with pytest.raises(ValueError):
        processor.apply_chat_template([{"content": "no role"}])
    with pytest.raises(ValueError):
        processor.apply_chat_template([{"role": "user", "content": [{"type": "video"}]}])
