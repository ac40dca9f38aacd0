"""The ``processor`` half of ``load``'s result: the chat template and the tokenizer, in the
shape Hugging Face / mlx-vlm processors have. Both call the engine (tightfit._core.Model)."""

from __future__ import annotations

from typing import Any, Optional, Sequence, Union

from tightfit._core import Model


class Tokenizer:
    """The model's tokenizer (``processor.tokenizer``)."""

    def __init__(self, model: Model) -> None:
        self._model = model

    def encode(self, text: str, add_special_tokens: bool = False) -> list[int]:
        """Token ids of ``text``. Qwen adds no BOS token, so ``add_special_tokens`` changes
        nothing; it is accepted for Hugging Face compatibility."""
        return self._model.encode(text)

    def decode(self, token_ids: Sequence[int], skip_special_tokens: bool = True) -> str:
        """The text of ``token_ids``."""
        return self._model.decode(list(token_ids), skip_special_tokens)

    @property
    def eos_token_ids(self) -> list[int]:
        """The tokens that end a turn."""
        return list(self._model.info.eos_token_ids)

    @property
    def eos_token_id(self) -> Optional[int]:
        ids = self._model.info.eos_token_ids
        return ids[0] if ids else None

    @property
    def vocab_size(self) -> int:
        return self._model.info.vocab_size


class Processor:
    """What ``tightfit.load`` returns beside the model: ``apply_chat_template`` and
    ``tokenizer``."""

    def __init__(self, model: Model) -> None:
        self._model = model
        self.tokenizer = Tokenizer(model)

    def apply_chat_template(
        self,
        messages: Sequence[dict[str, Any]],
        add_generation_prompt: bool = True,
        *,
        enable_thinking: Optional[bool] = None,
        tools: Optional[Union[list[dict[str, Any]], str]] = None,
        tokenize: bool = False,
    ) -> Union[str, list[int]]:
        """The prompt the model's chat template makes of ``messages`` (a list of
        ``{"role": ..., "content": ...}`` dicts; content may be a list of ``{"type": "text",
        "text": ...}`` and ``{"type": "image", "image": ...}`` parts). ``enable_thinking``
        switches Qwen's thinking block (None: the template's default); ``tools`` are OpenAI
        tool definitions. ``tokenize=True`` returns token ids instead of text."""
        text = self._model.apply_chat_template(
            list(messages), add_generation_prompt, enable_thinking=enable_thinking, tools=tools
        )
        return self._model.encode(text) if tokenize else text
