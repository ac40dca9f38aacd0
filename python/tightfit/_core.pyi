"""Type stubs of the compiled module tightfit._core (python/*.cpp)."""

from typing import Any, Iterator, Optional, Sequence, Union

import numpy as np
import numpy.typing as npt

class Error(RuntimeError):
    """Base class of the errors tightfit raises."""

class InvalidRequestError(Error, ValueError):
    """The request or an input it names is unusable."""
    param: Optional[str]

class ModelNotFoundError(Error, FileNotFoundError):
    """The model folder or repo does not exist or lacks a required file."""

class OutOfMemoryError(Error, MemoryError):
    """The model or the request does not fit the memory limit."""

class BusyError(Error):
    """The engine's queue is full: try again later."""

class ModelInfo:
    name: str
    path: str
    model_type: str
    layout: str  # tensor names of the files: "Hugging Face", "mlx-vlm" or "mlx-lm"
    vocab_size: int
    hidden_size: int
    layers: int
    context_length: int
    has_vision: bool
    has_mtp: bool
    bits_per_weight: float
    weight_bytes: int
    eos_token_ids: list[int]
    activations: str
    threads: int
    kv_type: str
    memory_limit: int
    memory_fixed: int
    kv_bytes_per_token: int
    memory_tokens: int
    weights_locked: bool

class SpeculativeUsage:
    steps: int
    drafts_proposed: int
    drafts_accepted: int
    proposed_at: list[int]
    accepted_at: list[int]

class Usage:
    prompt_tokens: int
    cached_tokens: int
    completion_tokens: int
    reasoning_tokens: int
    images: int
    speculative: SpeculativeUsage

class Timing:
    queued_seconds: float
    vision_seconds: float
    prompt_seconds: float
    generation_seconds: float
    time_to_first_token: float
    peak_memory_bytes: int

class TokenLogprob:
    token: int
    logprob: float
    top: list[tuple[int, float]]

class Event:
    kind: str  # "reasoning", "answer" or "done"
    text: str
    tokens: list[int]
    logprobs: list[TokenLogprob]
    stop: str
    stop_string: str
    error: str
    notice: str
    max_tokens: int
    usage: Usage
    timing: Timing
    prompt_tps: float
    generation_tps: float

class EngineStats:
    requests_total: int
    requests_active: int
    requests_queued: int
    requests_refused: int
    prompt_tokens_total: int
    cached_tokens_total: int
    generated_tokens_total: int
    prompt_cache_hits: int
    prompt_cache_bytes: int
    resident_memory_bytes: int
    busy_seconds: float

class RequestStream(Iterator[Event]):
    finished: bool
    def __iter__(self) -> RequestStream: ...
    def __next__(self) -> Event: ...
    def cancel(self) -> None: ...
    def __enter__(self) -> RequestStream: ...
    def __exit__(self, *args: Any) -> None: ...

class Model:
    info: ModelInfo
    @staticmethod
    def load(
        model: str,
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
    ) -> Model: ...
    def stats(self) -> EngineStats: ...
    def submit(
        self,
        messages: Optional[Sequence[dict[str, Any]]] = None,
        *,
        prompt: Optional[str] = None,
        prompt_tokens: Optional[Sequence[int]] = None,
        images: Optional[Sequence[Any]] = None,
        max_tokens: Optional[int] = None,
        temperature: Optional[float] = None,
        top_p: Optional[float] = None,
        top_k: Optional[int] = None,
        min_p: Optional[float] = None,
        presence_penalty: Optional[float] = None,
        frequency_penalty: Optional[float] = None,
        repetition_penalty: Optional[float] = None,
        repetition_context_size: Optional[int] = None,
        seed: Optional[int] = None,
        stop: Sequence[str] = ...,
        enable_thinking: Optional[bool] = None,
        tools: Optional[Union[list[dict[str, Any]], str]] = None,
        thinking_budget: Optional[int] = None,
        logprobs: int = -1,
        ignore_eos: bool = False,
        use_prompt_cache: bool = True,
        loop_guard: bool = True,
        draft_tokens: Optional[int] = None,
    ) -> RequestStream: ...
    def apply_chat_template(
        self,
        messages: Sequence[dict[str, Any]],
        add_generation_prompt: bool = True,
        *,
        enable_thinking: Optional[bool] = None,
        tools: Optional[Union[list[dict[str, Any]], str]] = None,
    ) -> str: ...
    def encode(self, text: str) -> list[int]: ...
    def decode(self, token_ids: Sequence[int], skip_special_tokens: bool = True) -> str: ...
    def token_text(self, token_id: int) -> str: ...
    def logits(self, token_ids: Sequence[int], first_row: int = 0) -> npt.NDArray[np.float32]: ...
    def hidden_states(self, token_ids: Sequence[int], first_row: int = 0) -> npt.NDArray[np.float32]: ...

def convert(
    source: str,
    output: Optional[str] = None,
    *,
    recipe: str = "dynamic",
    group_size: Optional[int] = None,
    dtype: str = "bf16",
    text_only: bool = False,
    keep_mtp: bool = False,
    dry_run: bool = False,
    force: bool = False,
    threads: Optional[int] = None,
    verbose: bool = False,
) -> dict[str, Any]: ...
def inspect(path: str, *, offline: bool = False) -> dict[str, Any]: ...
def builtin_recipes() -> list[tuple[str, str]]: ...

class PlanItem:
    """One line of a memory plan."""
    name: str
    bytes: int
    file_backed: bool  # mmapped weights (page cache), not anonymous memory

class PlanKVWidth:
    """The plan at one KV cache width."""
    bits: int
    bytes_per_token: int
    total_at: list[int]  # plan total at each of MemoryPlan.context_columns
    max_context: int  # largest context per sequence that fits the limit

class MemoryPlan:
    """What a model takes in memory against a memory limit. str(plan) is the table
    `tightfit plan` prints; to_dict() its JSON."""
    model: str
    weights_from: str
    items: list[PlanItem]
    total: int
    memory: int
    reserve: int
    limit: int
    text_weight_bytes: int
    vision_weight_bytes: int
    fixed_bytes: int
    kv_bytes_per_token: int
    deltanet_bytes_per_sequence: int
    draft_tokens: int
    mtp_kv_bytes_per_token: int
    speculative_bytes_per_sequence: int
    kv_bits: int
    context: int
    parallel: int
    model_context: int
    context_columns: list[int]
    kv_widths: list[PlanKVWidth]
    @property
    def fits(self) -> bool: ...
    @property
    def headroom(self) -> int: ...
    def max_tokens(self) -> int: ...
    def check_tokens(self, tokens: int) -> None:
        """Raise OutOfMemoryError with the plan's numbers unless `tokens` cached tokens fit."""
    def to_text(self) -> str: ...
    def to_dict(self) -> dict[str, Any]: ...

def plan(
    model: str,
    *,
    recipe: str = "dynamic",
    memory: Optional[Union[int, str]] = None,
    reserve: Optional[Union[int, str]] = None,
    kv_bits: int = 16,
    kv_group_size: int = 64,
    context: Optional[int] = None,
    parallel: int = 1,
    vision: bool = True,
    prefill_chunk: int = 256,
    prompt_cache: Union[int, str] = 0,
    threads: Optional[int] = None,
    count_this_process: bool = True,
    draft_tokens: int = 0,
) -> MemoryPlan:
    """The memory plan of a model folder or of a config.json + recipe (`tightfit plan`)."""
