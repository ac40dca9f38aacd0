"""Chat: turns build the history, later turns reuse the prompt cache, and a turn equals a
generate over the same messages."""

import tightfit

OPTIONS = dict(max_tokens=12, temperature=0, enable_thinking=False, ignore_eos=True, loop_guard=False)


def test_turns_build_the_history_and_reuse_the_cache(text_model):
    model, processor = text_model
    chat = tightfit.Chat(model, processor, system="You are terse.", **OPTIONS)
    first = chat.send("Hello!")
    assert chat.last.finish_reason == "max_tokens"
    second = chat.send("And then?")
    assert [m["role"] for m in chat.messages] == ["system", "user", "assistant", "user", "assistant"]
    assert chat.messages[2]["content"] == first
    assert chat.messages[4]["content"] == second
    # The second turn's prompt starts with the first turn: the engine restored that prefix.
    assert chat.last.cached_tokens > 0
    assert chat.last.prompt_tokens > chat.last.cached_tokens


def test_a_turn_equals_generate_over_the_same_messages(text_model):
    model, processor = text_model
    chat = tightfit.Chat(model, processor, **OPTIONS)
    chat.send("One.")
    history = list(chat.messages) + [{"role": "user", "content": "Two."}]
    reply = chat.send("Two.")
    assert reply == tightfit.generate(model, processor, history, **OPTIONS)


def test_streamed_turn_and_reset(text_model):
    model, processor = text_model
    chat = tightfit.Chat(model, processor, **OPTIONS)
    chunks = list(chat.stream("Hi."))
    assert chunks[-1].finish_reason == "max_tokens"
    assert chat.messages[-1]["content"] == "".join(c.text for c in chunks)
    chat.reset()
    assert chat.messages == []


def test_a_turn_cut_short_leaves_the_history_as_it_was(text_model):
    model, processor = text_model
    chat = tightfit.Chat(model, processor, **OPTIONS)
    chat.send("Hi.")
    before = list(chat.messages)
    stream = chat.stream("Tell me more.", max_tokens=2000)
    next(stream)
    stream.close()
    assert chat.messages == before
