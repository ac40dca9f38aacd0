"""``Chat``: a multi-turn conversation with one model."""

from __future__ import annotations

from typing import Any, Iterator, Optional, Union

from tightfit._core import Model
from tightfit._generate import GenerationResult, ImageInput, _image_list, stream_generate, user_messages
from tightfit._processor import Processor


class Chat:
    """A conversation: each ``send`` adds the user's message, generates the reply and adds it
    to ``messages``. Every turn resubmits the whole history; the engine's prompt cache finds
    the part it has already processed, so a turn costs only its new tokens.

    >>> chat = tightfit.Chat(model, processor, system="Answer briefly.", max_tokens=100)
    >>> chat.send("What is the capital of France?")
    >>> chat.send("And of Italy?")

    Keywords given to the constructor (max_tokens, temperature, enable_thinking, ...) apply to
    every turn; those given to ``send`` / ``stream`` to that turn only.
    """

    def __init__(
        self,
        model: Model,
        processor: Optional[Processor] = None,
        *,
        system: Optional[str] = None,
        **generation_kwargs: Any,
    ) -> None:
        self.model = model
        self.processor = processor
        self.system = system
        self.generation_kwargs = generation_kwargs
        self.messages: list[dict[str, Any]] = []
        self.last: Optional[GenerationResult] = None  # the last turn's final chunk (statistics)
        self.reset()

    def reset(self) -> None:
        """Forget the conversation (the system prompt stays)."""
        self.messages = user_messages("", (), self.system)[:-1]  # just the system message, if any
        self.last = None

    def stream(
        self, text: str, image: Optional[Union[ImageInput, list[ImageInput]]] = None, **kwargs: Any
    ) -> Iterator[GenerationResult]:
        """Send ``text`` (and images) and yield the reply's chunks as ``stream_generate`` does.
        The reply joins ``messages`` when it is complete; a turn cut short (the loop left
        early, Ctrl-C, an error) leaves the conversation as it was."""
        turn = user_messages(text, _image_list(image))
        history = self.messages + turn
        answer: list[str] = []
        reasoning: list[str] = []
        final: Optional[GenerationResult] = None
        options = {**self.generation_kwargs, **kwargs}
        for chunk in stream_generate(self.model, self.processor, history, **options):
            if chunk.finish_reason is not None:
                final = chunk
            elif chunk.is_reasoning:
                reasoning.append(chunk.text)
            else:
                answer.append(chunk.text)
            yield chunk
        reply: dict[str, Any] = {"role": "assistant", "content": "".join(answer)}
        if reasoning:
            reply["reasoning_content"] = "".join(reasoning)
        self.messages = history + [reply]
        self.last = final

    def send(
        self, text: str, image: Optional[Union[ImageInput, list[ImageInput]]] = None, **kwargs: Any
    ) -> str:
        """Send ``text`` (and images); return the reply's answer text."""
        return "".join(
            c.text for c in self.stream(text, image, **kwargs) if not c.is_reasoning
        )
