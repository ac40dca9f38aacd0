"""``load``, ``generate`` and ``stream_generate`` with mlx-vlm's names and keywords."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from typing import Any, Iterator, Optional, Sequence, Union

from tightfit._core import Event, Model, RequestStream
from tightfit._processor import Processor

# What a prompt's chat template opens every turn with: a prompt holding it is already
# templated and is sent as is.
_TURN_MARKER = "<|im_start|>"

ImageInput = Any  # a path, encoded bytes, a numpy uint8 array (H, W, 3) or a PIL image
Prompt = Union[str, Sequence[dict[str, Any]]]


def load(
    path_or_repo_id: Union[str, os.PathLike],
    *,
    threads: Optional[int] = None,
    kv_bits: Optional[int] = None,
    kv_group_size: Optional[int] = None,
    memory_limit: Optional[Union[int, str]] = None,
    vision: bool = True,
    context: Optional[int] = None,
    parallel: Optional[int] = None,
    max_queue: Optional[int] = None,
    prompt_cache: Optional[Union[int, str]] = None,
    prefill_chunk: Optional[int] = None,
    draft_tokens: Optional[int] = None,
    draft_vocab: Optional[int] = None,
    offline: bool = False,
    mlock: bool = False,
) -> tuple[Model, Processor]:
    """Load a model folder or Hugging Face repo id ("owner/name", downloaded to the Hub cache
    unless ``offline``) and return ``(model, processor)``.

    threads: worker threads (None: every core). kv_bits: precision of the attention KV cache,
    16 (default), 32, 8, 4 or 2; kv_group_size: elements per scale of a quantized (8/4/2-bit)
    KV cache, 32, 64 (default) or 128. memory_limit: bytes, or a size such as "16GB", the model
    and its caches may use (None: physical memory less a reserve); a model that does not fit
    raises OutOfMemoryError with the plan's numbers (``tightfit.plan`` shows them beforehand).
    vision=False skips a VL model's vision tower. context: tokens one sequence may hold (None:
    the model's). parallel: sequences decoded together (default 4); max_queue: requests
    waiting beyond those (more raise BusyError). prompt_cache: bytes (or "512MiB") of saved
    prompt prefixes that later prompts extending them start from (default 512 MiB; 0: none).
    prefill_chunk: prompt tokens per forward batch (default 256). draft_tokens:
    speculative decoding with the model's MTP head, tokens drafted per step for requests that
    do not pass their own ``draft_tokens`` (None or 0: off; the output is the same either way);
    draft_vocab: draft over the N most frequent tokens of the model's draft_vocab.txt only.
    mlock: lock the weights in memory (mlock(2)) so the OS never drops their pages;
    ``model.info.weights_locked`` says whether it took effect (RLIMIT_MEMLOCK).
    """
    model = Model.load(
        os.fspath(path_or_repo_id),
        threads=threads,
        kv_bits=kv_bits,
        kv_group_size=kv_group_size,
        memory_limit=memory_limit,
        vision=vision,
        context=context,
        parallel=parallel,
        max_queue=max_queue,
        prompt_cache=prompt_cache,
        prefill_chunk=prefill_chunk,
        draft_tokens=draft_tokens,
        draft_vocab=draft_vocab,
        offline=offline,
        mlock=mlock,
    )
    return model, Processor(model)


@dataclass
class GenerationResult:
    """One chunk of ``stream_generate``'s output. Text chunks carry ``text`` and the tokens it
    came from; the last chunk has empty text, ``finish_reason`` set and the request's
    statistics."""

    text: str = ""
    token: Optional[int] = None  # the last token of this chunk
    tokens: list[int] = field(default_factory=list)
    is_reasoning: bool = False  # inside the model's <think> block
    finish_reason: Optional[str] = None  # last chunk: "eos", "stop_string", "max_tokens", ...
    prompt_tokens: int = 0
    cached_tokens: int = 0  # of the prompt, restored from the prompt cache
    generation_tokens: int = 0
    prompt_tps: float = 0.0  # uncached prompt tokens per second
    generation_tps: float = 0.0
    peak_memory: float = 0.0  # the process's peak resident memory, GB (as mlx-vlm reports it)
    drafts_proposed: int = 0  # speculative decoding (draft_tokens): usage.speculative has more
    drafts_accepted: int = 0

    @staticmethod
    def from_event(event: Event) -> "GenerationResult":
        if event.kind != "done":
            return GenerationResult(
                text=event.text,
                token=event.tokens[-1] if event.tokens else None,
                tokens=list(event.tokens),
                is_reasoning=event.kind == "reasoning",
            )
        usage, timing = event.usage, event.timing
        return GenerationResult(
            finish_reason=event.stop,
            prompt_tokens=usage.prompt_tokens,
            cached_tokens=usage.cached_tokens,
            generation_tokens=usage.completion_tokens,
            prompt_tps=event.prompt_tps,
            generation_tps=event.generation_tps,
            peak_memory=timing.peak_memory_bytes / 1e9,
            drafts_proposed=usage.speculative.drafts_proposed,
            drafts_accepted=usage.speculative.drafts_accepted,
        )


def _image_list(image: Optional[Union[ImageInput, list[ImageInput]]]) -> list[ImageInput]:
    if image is None:
        return []
    if isinstance(image, (list, tuple)):
        return list(image)
    return [image]


def user_messages(
    prompt: str, images: Sequence[ImageInput] = (), system: Optional[str] = None
) -> list[dict[str, Any]]:
    """The chat messages ``generate`` makes of a plain prompt: an optional system message and
    one user message holding the images, then the prompt."""
    messages: list[dict[str, Any]] = []
    if system is not None:
        messages.append({"role": "system", "content": system})
    if images:
        content: Any = [{"type": "image", "image": im} for im in images]
        content.append({"type": "text", "text": prompt})
    else:
        content = prompt
    messages.append({"role": "user", "content": content})
    return messages


def submit(
    model: Model,
    prompt: Prompt,
    image: Optional[Union[ImageInput, list[ImageInput]]] = None,
    system: Optional[str] = None,
    **kwargs: Any,
) -> RequestStream:
    """Queue a generation for ``prompt``: a plain string (wrapped as one user message with the
    images), a string already rendered by the chat template (sent as is), or a list of chat
    messages."""
    images = _image_list(image)
    if not isinstance(prompt, str):
        if images or system is not None:
            raise ValueError("with a list of messages, put the images and the system prompt in "
                             "the messages")
        return model.submit(list(prompt), **kwargs)
    if _TURN_MARKER in prompt:
        # Already rendered (apply_chat_template): sent as is, with its images, one
        # <|image_pad|> placeholder each.
        if system is not None:
            raise ValueError("system= needs a plain prompt: this one is already rendered by the "
                             "chat template")
        kwargs.pop("enable_thinking", None)  # a template argument; the template already ran
        return model.submit(prompt=prompt, images=images or None, **kwargs)
    return model.submit(user_messages(prompt, images, system), **kwargs)


def _generation_kwargs(
    max_tokens: Optional[int],
    temperature: Optional[float],
    top_p: Optional[float],
    top_k: Optional[int],
    min_p: Optional[float],
    presence_penalty: Optional[float],
    repetition_penalty: Optional[float],
    seed: Optional[int],
    stop: Optional[Union[str, Sequence[str]]],
    enable_thinking: Optional[bool],
    extra: dict[str, Any],
) -> dict[str, Any]:
    kwargs = dict(
        max_tokens=max_tokens,
        temperature=temperature,
        top_p=top_p,
        top_k=top_k,
        min_p=min_p,
        presence_penalty=presence_penalty,
        repetition_penalty=repetition_penalty,
        seed=seed,
        stop=[stop] if isinstance(stop, str) else list(stop or []),
        enable_thinking=enable_thinking,
    )
    kwargs.update(extra)
    return kwargs


def stream_generate(
    model: Model,
    processor: Optional[Processor],
    prompt: Prompt,
    image: Optional[Union[ImageInput, list[ImageInput]]] = None,
    *,
    max_tokens: Optional[int] = None,
    temperature: Optional[float] = None,
    top_p: Optional[float] = None,
    top_k: Optional[int] = None,
    min_p: Optional[float] = None,
    presence_penalty: Optional[float] = None,
    repetition_penalty: Optional[float] = None,
    seed: Optional[int] = None,
    stop: Optional[Union[str, Sequence[str]]] = None,
    enable_thinking: Optional[bool] = None,
    system: Optional[str] = None,
    **kwargs: Any,
) -> Iterator[GenerationResult]:
    """Generate from ``prompt`` (and images), yielding ``GenerationResult`` chunks as the
    tokens come: reasoning chunks (``is_reasoning``) then answer chunks, and a last chunk with
    ``finish_reason`` and the statistics. Unset sampling parameters take the model's
    generation_config.json defaults; temperature=0 is greedy. Breaking out of the loop (or
    Ctrl-C) cancels the request. Further keywords (repetition_context_size, frequency_penalty,
    tools, thinking_budget, logprobs, ignore_eos, use_prompt_cache, loop_guard) go to
    ``Model.submit``."""
    stream = submit(
        model,
        prompt,
        image,
        system,
        **_generation_kwargs(max_tokens, temperature, top_p, top_k, min_p, presence_penalty,
                             repetition_penalty, seed, stop, enable_thinking, kwargs),
    )
    with stream:
        for event in stream:
            yield GenerationResult.from_event(event)


def generate(
    model: Model,
    processor: Optional[Processor],
    prompt: Prompt,
    image: Optional[Union[ImageInput, list[ImageInput]]] = None,
    *,
    max_tokens: Optional[int] = None,
    temperature: Optional[float] = None,
    top_p: Optional[float] = None,
    top_k: Optional[int] = None,
    min_p: Optional[float] = None,
    presence_penalty: Optional[float] = None,
    repetition_penalty: Optional[float] = None,
    seed: Optional[int] = None,
    stop: Optional[Union[str, Sequence[str]]] = None,
    enable_thinking: Optional[bool] = None,
    system: Optional[str] = None,
    verbose: bool = False,
    **kwargs: Any,
) -> str:
    """Generate from ``prompt`` (and images) and return the answer text (the model's thinking,
    if any, is left out: use ``stream_generate`` to see it). Takes ``stream_generate``'s
    keywords; ``verbose=True`` prints the output as it comes and the statistics, like
    mlx-vlm."""
    chunks = stream_generate(
        model, processor, prompt, image,
        max_tokens=max_tokens, temperature=temperature, top_p=top_p, top_k=top_k, min_p=min_p,
        presence_penalty=presence_penalty, repetition_penalty=repetition_penalty, seed=seed,
        stop=stop, enable_thinking=enable_thinking, system=system, **kwargs,
    )
    if verbose:
        print("=" * 10)
        images = _image_list(image)
        if images:
            print(f"Files: {[os.fspath(i) if isinstance(i, (str, os.PathLike)) else type(i).__name__ for i in images]}\n")
        print(f"Prompt: {prompt}")
    answer: list[str] = []
    for chunk in chunks:
        if chunk.finish_reason is not None:
            if verbose:
                print("\n" + "=" * 10)
                print(f"Prompt: {chunk.prompt_tokens} tokens, {chunk.prompt_tps:.3f} tokens-per-sec")
                print(f"Generation: {chunk.generation_tokens} tokens, "
                      f"{chunk.generation_tps:.3f} tokens-per-sec")
                print(f"Peak memory: {chunk.peak_memory:.3f} GB")
            continue
        if not chunk.is_reasoning:
            answer.append(chunk.text)
        if verbose:
            sys.stdout.write(chunk.text)
            sys.stdout.flush()
    return "".join(answer)
